"""Hostile programs, each contained by the sandbox: the caller unharmed, nothing left behind."""

from __future__ import annotations

import os
import socket
import textwrap
import threading
import time
import uuid

import psutil
import pytest

from inhouse.sandbox import SandboxLimits, isolation_report, run_program

_ISOLATION = isolation_report()
if _ISOLATION["isolation"] != "bubblewrap" and os.environ.get("INHOUSE_REQUIRE_SANDBOX"):
    raise RuntimeError(f"INHOUSE_REQUIRE_SANDBOX is set but {_ISOLATION['warning']}")
pytestmark = pytest.mark.skipif(_ISOLATION["isolation"] != "bubblewrap",
                                reason="bubblewrap is not usable here (see README: apt-get install bubblewrap)")

LIMITS = SandboxLimits(wall_s=3, cpu_s=3, memory_bytes=512 << 20, file_bytes=8 << 20, processes=32,
                       kill_output_bytes=4 << 20, scale_wall_clock=False)


def run(tmp_path, code: str, limits: SandboxLimits = LIMITS, **kw):
    marker = f"hostile_{uuid.uuid4().hex[:8]}"
    prog = tmp_path / f"{marker}.py"
    prog.write_text(textwrap.dedent(code))
    result = run_program(prog, limits, **kw)
    time.sleep(0.1)
    left = [p for p in psutil.process_iter(["cmdline"]) if marker in " ".join(p.info["cmdline"] or [])]
    assert not left, f"processes left behind: {left}"
    return result


def test_plain_program_runs(tmp_path):
    r = run(tmp_path, "print('hello')")
    assert (r.status, r.exit_code, r.stdout) == ("ok", 0, "hello\n")
    assert r.isolation == "bubblewrap"


def test_fork_bomb(tmp_path):
    r = run(tmp_path, """
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
    """)
    assert r.status in ("timeout", "killed")


def test_memory_bomb(tmp_path):
    r = run(tmp_path, """
        blocks = []
        while True:
            blocks.append(bytearray(64 << 20))
    """)
    assert r.status in ("error", "killed") and ("MemoryError" in r.stderr or r.status == "killed")


def test_infinite_loop(tmp_path):
    r = run(tmp_path, "while True: pass")
    assert r.status in ("timeout", "killed") and r.duration_s < 8


def test_ignoring_sigterm(tmp_path):
    r = run(tmp_path, """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        time.sleep(1000)
    """)
    assert r.status == "timeout" and r.duration_s < 8


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_huge_output(tmp_path, stream):
    r = run(tmp_path, f"""
        import sys
        line = "x" * 1023 + "\\n"
        while True:
            sys.{stream}.write(line)
    """)
    assert r.status == "killed" and "output" in r.reason
    assert len(getattr(r, stream)) <= LIMITS.output_bytes and getattr(r, f"{stream}_truncated")


def test_disk_filling(tmp_path):
    r = run(tmp_path, """
        with open("big.bin", "wb") as f:
            while True:
                f.write(b"\\0" * (1 << 20))
    """)
    assert r.status in ("error", "killed")  # SIGXFSZ, or EFBIG


@pytest.mark.parametrize("target", ["/etc/inhouse_owned", "/usr/lib/inhouse_owned", "/var/tmp/inhouse_owned",
                                    "/tmp/inhouse_owned", "/dev/shm/inhouse_owned"])
def test_writing_outside_the_working_directory(tmp_path, target):
    r = run(tmp_path, f"""
        open({target!r}, "w").write("owned")
    """)
    assert r.status == "error" and not os.path.exists(target)


def test_writing_into_the_callers_folders(tmp_path):
    victim = tmp_path / "keep.txt"
    victim.write_text("precious")
    r = run(tmp_path, f"""
        import os, shutil
        for p in [{str(victim)!r}, {str(tmp_path)!r}]:
            try:
                os.remove(p) if os.path.isfile(p) else shutil.rmtree(p)
            except OSError:
                pass
        open({str(tmp_path / 'new.txt')!r}, "w").write("x")
    """)
    assert r.status == "error"
    assert victim.read_text() == "precious" and not (tmp_path / "new.txt").exists()


def test_symlink_escape(tmp_path):
    r = run(tmp_path, """
        import os
        os.symlink("/etc/hostname", "link")
        open("link", "w").write("owned")
    """)
    assert r.status == "error"


@pytest.fixture()
def secrets(monkeypatch):
    home = os.path.expanduser("~")
    files = {".ssh/id_rsa": "PRIVATE KEY", ".aws/credentials": "aws_secret", ".config/gh/hosts.yml": "token",
             ".netrc": "machine x password y"}
    for rel, text in files.items():
        path = os.path.join(home, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "very-secret")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    return home, files


@pytest.mark.parametrize("rel", [".ssh/id_rsa", ".aws/credentials", ".config/gh/hosts.yml", ".netrc"])
def test_reading_the_users_secrets(tmp_path, secrets, rel):
    home, files = secrets
    r = run(tmp_path, f"print(open({os.path.join(home, rel)!r}).read())")
    assert r.status == "error" and files[rel] not in r.stdout


def test_reading_the_inhouse_store(tmp_path):
    from inhouse.config import home_dir
    from inhouse.store import Store

    Store.open().close()
    db = home_dir() / "inhouse.db"
    assert db.exists()
    r = run(tmp_path, f"print(len(open({str(db)!r}, 'rb').read()))")
    assert r.status == "error"


def test_reading_environment_secrets(tmp_path, secrets):
    r = run(tmp_path, "import os; print(dict(os.environ))")
    assert r.status == "ok" and "very-secret" not in r.stdout and "sk-secret" not in r.stdout


def test_reading_etc_shadow(tmp_path):
    r = run(tmp_path, "print(open('/etc/shadow').read())")
    assert "root:" not in r.stdout


def test_tcp_to_the_host(tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    try:
        r = run(tmp_path, f"""
            import socket
            s = socket.create_connection(("127.0.0.1", {port}), timeout=2)
            s.sendall(b"exfiltrated")
        """)
        assert r.status == "error"
        server.settimeout(0.3)
        with pytest.raises(socket.timeout):
            server.accept()
    finally:
        server.close()


def test_udp_to_the_host(tmp_path):
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(0.5)
    port = rx.getsockname()[1]
    try:
        run(tmp_path, f"""
            import socket
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for _ in range(20):
                try:
                    s.sendto(b"exfiltrated", ("127.0.0.1", {port}))
                except OSError:
                    pass
        """)
        with pytest.raises(socket.timeout):
            rx.recvfrom(100)
    finally:
        rx.close()


def test_internet(tmp_path):
    r = run(tmp_path, """
        import socket
        socket.create_connection(("1.1.1.1", 53), timeout=2)
    """)
    assert r.status == "error"


def test_killing_the_parent(tmp_path):
    r = run(tmp_path, """
        import os, signal
        os.kill(os.getppid(), signal.SIGKILL)
        os.kill(-1, signal.SIGKILL)
    """)
    assert r.status in ("ok", "error", "killed")  # whatever it did, it did inside its namespace
    assert psutil.Process(os.getpid()).is_running()


def test_killing_the_caller_by_pid(tmp_path):
    r = run(tmp_path, f"""
        import os, signal
        os.kill({os.getpid()}, signal.SIGKILL)
    """)
    assert r.status == "error"  # that pid does not exist in its namespace


def test_daemonized_child_is_killed(tmp_path):
    r = run(tmp_path, """
        import os, sys, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(1000)
            os._exit(0)
        print("parent done")
    """)
    assert r.status == "ok" and "parent done" in r.stdout


def test_background_process_left_running(tmp_path):
    r = run(tmp_path, """
        import subprocess, sys
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1000)", "hostile_bg_sleeper"])
        print("started")
    """)
    assert r.status == "ok"
    assert not [p for p in psutil.process_iter(["cmdline"]) if "hostile_bg_sleeper" in " ".join(p.info["cmdline"] or [])]


def test_cpu_burning_threads(tmp_path):
    r = run(tmp_path, """
        import threading
        def burn():
            while True:
                pass
        for _ in range(4):
            threading.Thread(target=burn).start()
    """)
    assert r.status in ("timeout", "killed")


def test_file_descriptor_exhaustion(tmp_path):
    r = run(tmp_path, """
        fs = []
        while True:
            fs.append(open(__file__))
    """)
    assert r.status == "error" and "Too many open files" in r.stderr


def test_privileged_operations(tmp_path):
    host = socket.gethostname()
    r = run(tmp_path, """
        import os, ctypes
        try:
            open("/proc/sys/kernel/hostname", "w").write("owned")  # its own UTS namespace at most
        except OSError:
            pass
        failures = 0
        for action in (lambda: os.setuid(0) or os.chown("/etc/passwd", 1000, 1000),
                       lambda: open("/sys/kernel/mm/transparent_hugepage/enabled", "w").write("never")):
            try:
                action()
            except OSError:
                failures += 1
        libc = ctypes.CDLL(None, use_errno=True)
        failures += libc.mount(b"none", b"/mnt", b"tmpfs", 0, None) != 0
        print(failures)
    """)
    assert r.stdout.strip() == "3"
    assert socket.gethostname() == host


def test_caller_is_unharmed_while_a_bomb_runs(tmp_path):
    """The caller keeps working (a thread here) while a fork bomb and a memory bomb run."""
    ticks = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.05)

    t = threading.Thread(target=tick)
    t.start()
    try:
        run(tmp_path, """
            import os
            data = []
            while True:
                try:
                    os.fork()
                    data.append(bytearray(8 << 20))
                except (OSError, MemoryError):
                    pass
        """)
    finally:
        stop.set()
        t.join()
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert len(ticks) > 10 and max(gaps) < 2.0
