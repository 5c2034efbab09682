"""GPUs with their total and free memory, through NVML (``nvidia-ml-py``).

No NVIDIA driver, no NVML, or no GPU at all is a normal answer: an empty list and a reason.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class GPUInfo:
    index: int
    name: str
    total_bytes: int
    free_bytes: int
    driver: str

    def to_dict(self) -> dict:
        return asdict(self)


def gpus() -> tuple[list[GPUInfo], str | None]:
    """(GPUs found, why none were found or None)."""
    try:
        import pynvml
    except ImportError:
        return [], "nvidia-ml-py is not installed"
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return [], f"no NVIDIA driver ({exc})"
    try:
        driver = pynvml.nvmlSystemGetDriverVersion()
        driver = driver.decode() if isinstance(driver, bytes) else str(driver)
        found = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            name = pynvml.nvmlDeviceGetName(handle)
            mem = pynvml.nvmlDeviceGetMemoryInfo(handle)
            found.append(
                GPUInfo(
                    index=i,
                    name=name.decode() if isinstance(name, bytes) else str(name),
                    total_bytes=int(mem.total),
                    free_bytes=int(mem.free),
                    driver=driver,
                )
            )
        return found, None if found else "the NVIDIA driver reports no GPU"
    except pynvml.NVMLError as exc:
        return [], f"NVML error ({exc})"
    finally:
        try:
            pynvml.nvmlShutdown()
        except pynvml.NVMLError:
            pass
