"""A process-count cgroup for one execution, where this process may create one.

RLIMIT_NPROC counts processes per user and does not bind root, so when inhouse runs as root (CI
containers) a fork bomb is capped by a ``pids`` cgroup instead: cgroup v2 where it is delegated,
else the v1 ``pids`` hierarchy.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

ROOTS = (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup/pids"))


class PidsCgroup:
    def __init__(self, max_pids: int) -> None:
        self.path: Path | None = None
        name = f"inhouse-sandbox-{uuid.uuid4().hex[:10]}"
        for root in ROOTS:
            if not (root / "cgroup.procs").exists():
                continue
            if (root / "cgroup.controllers").exists():  # cgroup v2: pids must be enabled for children
                control = root / "cgroup.subtree_control"
                if not control.exists() or "pids" not in control.read_text(errors="ignore").split():
                    continue
            elif not (root / "pids.max").exists() and root.name != "pids":
                continue
            try:
                path = root / name
                path.mkdir()
                (path / "pids.max").write_text(str(max_pids))
                self.path = path
                return
            except OSError:
                try:
                    (root / name).rmdir()
                except OSError:
                    pass
        return

    @property
    def active(self) -> bool:
        return self.path is not None

    def attach_self(self) -> None:
        """Called in the child before exec: move it (and so everything it starts) in."""
        if self.path is not None:
            (self.path / "cgroup.procs").write_text("0")

    def kill_all(self) -> None:
        if self.path is None:
            return
        kill = self.path / "cgroup.kill"
        if kill.exists():
            try:
                kill.write_text("1")
                return
            except OSError:
                pass
        try:
            for pid in (self.path / "cgroup.procs").read_text().split():
                try:
                    os.kill(int(pid), 9)
                except (ProcessLookupError, PermissionError):
                    pass
        except OSError:
            pass

    def remove(self) -> None:
        if self.path is None:
            return
        import time

        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except OSError:
                self.kill_all()
                time.sleep(0.02)
