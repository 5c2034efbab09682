"""One error hierarchy for everything inhouse raises.

Foreign exceptions (llama_cpp, httpx, OSError, gguf) are translated once, at the boundary
where they happen, into one of these. Each message says what went wrong *and what to do next*;
the CLI prints it on one line and exits non-zero.

    InhouseError
     +-- ConfigError            bad settings, unknown options
     +-- ModelError
     |    +-- ModelNotFound      a name or path that resolves to nothing
     |    +-- InvalidModelFile   not a GGUF, truncated, corrupt or hostile header
     |    +-- ModelLoadError     llama.cpp refused to load it
     +-- EngineError
     |    +-- ContextOverflow    prompt + reply do not fit the context window
     |    +-- ServerUnreachable  nothing answers at the endpoint
     |    +-- ServerError        the server answered with an HTTP error
     |    +-- ProtocolError      the server's reply is not what the API promises
     +-- StoreError             the SQLite store cannot be opened or migrated
     +-- MachineError           a probe of this machine failed
"""

from __future__ import annotations


class InhouseError(Exception):
    """Base class of every error inhouse raises on purpose."""


class ConfigError(InhouseError):
    pass


class ModelError(InhouseError):
    pass


class ModelNotFound(ModelError):
    pass


class InvalidModelFile(ModelError):
    pass


class ModelLoadError(ModelError):
    pass


class EngineError(InhouseError):
    pass


class ContextOverflow(EngineError):
    pass


class UnsupportedFeature(EngineError):
    """The request asks for something this model or engine cannot do (e.g. a thinking switch)."""


class ServerUnreachable(EngineError):
    pass


class ServerError(EngineError):
    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class ProtocolError(EngineError):
    pass


class EvalError(InhouseError):
    """An evaluation cannot be scored here (e.g. its test runner is missing)."""


class StoreError(InhouseError):
    pass


class MachineError(InhouseError):
    pass


class SandboxUnavailable(InhouseError):
    """Model-written code would run without bubblewrap's isolation, and that was not allowed."""
