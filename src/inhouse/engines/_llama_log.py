"""llama.cpp's log, routed into Python's ``logging`` (logger ``inhouse.llama_cpp``) at its true level.

llama-cpp-python 0.3.36 installs a log callback whose level table predates ggml's current enum
(``ggml.h``: NONE 0, DEBUG 1, INFO 2, WARN 3, ERROR 4, CONT 5; the table reads 3 as ERROR), so with
``verbose=False`` llama.cpp's *warnings* still print to stderr: every Gemma load wrote
``llama_kv_cache_iswa: using full-size SWA cache``. ``install()`` replaces that callback with one
that logs each line at its real level. ``inhouse`` has a ``NullHandler``, so nothing reaches the
terminal unless the application configures logging (``logging.basicConfig(level=...)``).
"""

from __future__ import annotations

import ctypes
import logging
import threading

logger = logging.getLogger("inhouse.llama_cpp")
logging.getLogger("inhouse").addHandler(logging.NullHandler())

# ggml_log_level (ggml.h of the pinned llama.cpp) -> logging level; 5 continues the previous line
LEVELS = {0: logging.INFO, 1: logging.DEBUG, 2: logging.INFO, 3: logging.WARNING, 4: logging.ERROR}
CONT = 5

_state = {"last": logging.INFO, "callback": None}
_lock = threading.Lock()


def _route(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
    py_level = _state["last"] if level == CONT else LEVELS.get(level, logging.INFO)
    _state["last"] = py_level
    if logger.isEnabledFor(py_level):
        message = text.decode("utf-8", errors="replace").rstrip("\n")
        if message.strip():
            logger.log(py_level, message)


def install() -> None:
    """Make llama.cpp log through ``inhouse.llama_cpp`` (idempotent; call after importing
    llama_cpp, whose import installs its own callback)."""
    import llama_cpp

    with _lock:
        if _state["callback"] is None:
            # ctypes must keep the callback object alive as long as llama.cpp may call it
            _state["callback"] = llama_cpp.llama_log_callback(_route)
        llama_cpp.llama_log_set(_state["callback"], ctypes.c_void_p(0))
