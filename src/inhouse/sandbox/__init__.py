"""A sandbox for model-written code: its own process, session, namespaces and limits.

``run_program(path)`` runs one Python program with no network, a fresh working directory as
the only writable place, the user's secrets hidden, a scrubbed environment, resource limits and
a wall clock, and kills every process it started when it ends.
"""

from .limits import SandboxLimits
from .runner import SandboxResult, SandboxUnavailable, Session, isolation_report, require_isolation, run_program

__all__ = ["SandboxLimits", "SandboxResult", "SandboxUnavailable", "Session", "isolation_report", "require_isolation",
           "run_program"]
