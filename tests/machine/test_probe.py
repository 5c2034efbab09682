from __future__ import annotations

from inhouse.machine import contention, memory
from inhouse.machine.bandwidth import measure_read_bandwidth
from inhouse.machine.cpu import default_threads, isa_flags, usable_cpus
from inhouse.machine.probe import probe_machine


def test_probe_is_sane():
    info = probe_machine(bandwidth=False)
    m = info.memory
    assert 0 < m.available_bytes <= m.total_bytes
    assert info.physical_cores >= 1 and info.logical_threads >= info.physical_cores
    assert 1 <= info.default_threads <= usable_cpus()
    assert isinstance(info.gpus, list)
    if not info.gpus:
        assert info.gpu_note
    assert info.docker is not None and info.docker.note.startswith("Docker:")


def test_bandwidth_is_positive_and_plausible():
    r = measure_read_bandwidth(buffer_bytes=64 * 1024 * 1024, passes=2)
    # Anything from a Raspberry Pi (a few GB/s) to an HBM accelerator host (a few TB/s).
    assert 5e8 < r.bytes_per_s < 1e13


def test_bandwidth_is_cached_in_the_store(tmp_path):
    from inhouse.store import Store

    with Store.open(tmp_path / "s.db") as store:
        first = probe_machine(store, usage=False, quiet_wait_s=0)
        second = probe_machine(store, usage=False, quiet_wait_s=0)
    assert not first.bandwidth_cached and second.bandwidth_cached
    assert second.bandwidth_bytes_per_s == first.bandwidth_bytes_per_s


def test_default_threads_is_not_half_the_cpus(monkeypatch):
    import psutil

    monkeypatch.setattr(psutil, "cpu_count", lambda logical=True: 8 if logical else 8)
    monkeypatch.setattr("inhouse.machine.cpu.usable_cpus", lambda: 8)
    assert default_threads() == 8
    monkeypatch.setattr(psutil, "cpu_count", lambda logical=True: 16 if logical else 8)
    monkeypatch.setattr("inhouse.machine.cpu.usable_cpus", lambda: 16)
    assert default_threads() == 8  # SMT siblings do not add decode speed


def test_cgroup_v2_limit(tmp_path, monkeypatch):
    (tmp_path / "memory.max").write_text("4294967296\n")
    (tmp_path / "memory.current").write_text("1073741824\n")
    assert memory.cgroup_memory(tmp_path, tmp_path / "no-self-cgroup") == (4294967296, 1073741824)


def test_cgroup_v2_nested_path(tmp_path):
    (tmp_path / "user.slice").mkdir()
    (tmp_path / "user.slice" / "memory.max").write_text("2147483648\n")
    (tmp_path / "user.slice" / "memory.current").write_text("5\n")
    (tmp_path / "self").write_text("0::/user.slice\n")
    assert memory.cgroup_memory(tmp_path, tmp_path / "self") == (2147483648, 5)


def test_cgroup_unlimited(tmp_path):
    (tmp_path / "memory.max").write_text("max\n")
    assert memory.cgroup_memory(tmp_path, tmp_path / "no-self-cgroup") == (None, None)


def test_app_grouping():
    assert contention.app_group("chrome") == "Browsers"
    assert contention.app_group("firefox-bin") == "Browsers"
    assert contention.app_group("code") == "IDEs"
    assert contention.app_group("dockerd") == "Docker"
    assert contention.app_group("my-daemon") == "my-daemon"


def test_top_apps_sees_a_child_process():
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "import time; b = bytearray(64 << 20); time.sleep(30)"])
    try:
        import time

        time.sleep(1.0)
        apps = contention.top_apps(limit=100)
        assert any(a.bytes > 0 and a.processes >= 1 for a in apps)
        total = sum(a.bytes for a in apps)
        import psutil

        assert total <= psutil.virtual_memory().total
    finally:
        child.kill()
        child.wait()


def test_isa_flags_match_proc_cpuinfo():
    from pathlib import Path

    from inhouse.machine.cpu import ARM_FLAGS, X86_FLAGS

    flags = isa_flags()
    assert set(flags) <= set(X86_FLAGS.values()) | set(ARM_FLAGS.values())
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        words = set(cpuinfo.read_text().split())
        assert ("AVX2" in flags) == ("avx2" in words)
