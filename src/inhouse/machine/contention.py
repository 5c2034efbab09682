"""Who else uses this machine's memory: applications grouped, and Docker containers.

Processes are grouped by application (every browser process together, every IDE process
together, ...) so "Chrome 3.2 GiB" is one line, not forty. Memory per process is PSS where the OS
gives it (shared pages divided among their users, so a group's sum is not double-counted) and
RSS otherwise; each row says which.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

# Application groups, matched against a process's name (lowercased, ".exe" removed).
APP_GROUPS: dict[str, tuple[str, ...]] = {
    "Browsers": ("chrome", "chromium", "google-chrome", "firefox", "firefox-bin", "msedge",
                 "brave", "safari", "opera", "vivaldi", "webkitwebprocess", "com.apple.webkit"),
    "IDEs": ("code", "code-insiders", "cursor", "windsurf", "idea", "pycharm", "clion", "goland",
             "webstorm", "rider", "rustrover", "zed", "sublime_text", "studio", "xcode",
             "fsnotifier", "jetbrains"),
    "Docker": ("dockerd", "containerd", "containerd-shim", "containerd-shim-runc-v2",
               "com.docker.backend", "com.docker.vmnetd", "docker-desktop", "vpnkit",
               "qemu-system-x86_64", "qemu-system-aarch64", "virtualization"),
    "Chat apps": ("slack", "discord", "teams", "ms-teams", "zoom", "signal", "telegram"),
    "Local LLM runners": ("ollama", "llama-server", "lm studio", "lmstudio", "llama-cli", "vllm"),
}


@dataclass
class AppUsage:
    name: str
    bytes: int
    processes: int
    measure: str  # "pss" or "rss"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class DockerUsage:
    reachable: bool
    note: str
    containers: list[dict] = field(default_factory=list)  # name, image, memory_bytes

    @property
    def total_bytes(self) -> int:
        return sum(c["memory_bytes"] for c in self.containers)

    def to_dict(self) -> dict:
        return {**asdict(self), "total_bytes": self.total_bytes}


def app_group(name: str) -> str:
    base = name.lower().removesuffix(".exe")
    for group, names in APP_GROUPS.items():
        if base in names or any(base.startswith(n + " ") or base.startswith(n + "-") for n in names):
            return group
    return name


def top_apps(limit: int = 10) -> list[AppUsage]:
    """The applications holding the most memory, grouped, excluding this process."""
    import psutil

    groups: dict[str, AppUsage] = {}
    me = os.getpid()
    for proc in psutil.process_iter(["name", "memory_info"]):
        try:
            if proc.pid == me or not proc.info["memory_info"]:
                continue
            measure, used = "rss", int(proc.info["memory_info"].rss)
            try:
                pss = getattr(proc.memory_full_info(), "pss", None)
                if pss is not None:
                    measure, used = "pss", int(pss)
            except (psutil.AccessDenied, psutil.ZombieProcess, OSError):
                pass
            group = app_group(proc.info["name"] or f"pid {proc.pid}")
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        usage = groups.setdefault(group, AppUsage(group, 0, 0, measure))
        usage.bytes += used
        usage.processes += 1
        if measure == "rss":
            usage.measure = "rss"
    held = [u for u in groups.values() if u.bytes > 0]  # kernel threads hold no user memory
    return sorted(held, key=lambda u: u.bytes, reverse=True)[:limit]


def docker_host() -> str | None:
    """DOCKER_HOST, else the first Docker socket that exists (Linux, rootless, Docker Desktop)."""
    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    from pathlib import Path

    candidates = [Path("/var/run/docker.sock"), Path.home() / ".docker" / "run" / "docker.sock",
                  Path.home() / ".docker" / "desktop" / "docker.sock"]
    if os.environ.get("XDG_RUNTIME_DIR"):
        candidates.append(Path(os.environ["XDG_RUNTIME_DIR"]) / "docker.sock")
    for sock in candidates:
        if sock.exists():
            return f"unix://{sock}"
    return None


def docker_usage(timeout: float = 3.0) -> DockerUsage:
    """Containers' memory from the Docker engine, or one line saying none is reachable."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:
        return DockerUsage(False, "Docker: the docker Python package is not installed")
    base_url = docker_host()
    if base_url is None:
        return DockerUsage(False, "Docker: no engine reachable (no DOCKER_HOST and no docker.sock found)")
    client = None
    try:
        client = docker.DockerClient(base_url=base_url, timeout=int(max(1, timeout)))
        client.ping()
    except DockerException as exc:
        if client is not None:
            client.close()
        reason = str(exc).split("(")[0].strip() or type(exc).__name__
        return DockerUsage(False, f"Docker: no engine reachable ({reason[:120]})")
    try:
        containers = []
        for c in client.containers.list():
            stats = c.stats(stream=False, one_shot=True)
            mem = stats.get("memory_stats") or {}
            usage = int(mem.get("usage", 0))
            # Page cache the kernel can drop is not memory the container holds (docker stats' rule).
            cache = (mem.get("stats") or {}).get("inactive_file", 0)
            containers.append(
                {"name": c.name, "image": ",".join(c.image.tags) or c.image.short_id,
                 "memory_bytes": max(0, usage - int(cache))}
            )
        return DockerUsage(True, f"Docker: {len(containers)} running container(s)", containers)
    except DockerException as exc:
        return DockerUsage(False, f"Docker: engine answered but listing failed ({exc})")
    finally:
        client.close()
