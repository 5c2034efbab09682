"""The callbacks inhouse gives llama.cpp: its log, load progress and compute abort check.

All three run Python from inside llama.cpp through ctypes, where an exception cannot propagate
(ctypes prints "Exception ignored" and drops it). So none of them raises, and each one keeps
Ctrl-C working (see ``inhouse.interrupt``): the log callback records an interrupt, the progress
callback then aborts a model load, the abort callback a decode.

The log callback replaces llama-cpp-python's, which prints to stderr (its level table predates
ggml's current enum and reads WARN as ERROR, so with ``verbose=False`` warnings such as Gemma's
``llama_kv_cache_iswa: using full-size SWA cache`` still printed): inhouse's prints nothing. Each
line goes to the ``inhouse.llama_cpp`` logger at its true level (``inhouse`` has a
``NullHandler``: no output unless the application configures logging), and to the list of an
active ``capture()``.
"""

from __future__ import annotations

import ctypes
import logging
from contextlib import contextmanager
from typing import Any, Iterator

from .. import interrupt

log = logging.getLogger("inhouse.llama_cpp")
logging.getLogger("inhouse").addHandler(logging.NullHandler())

# ggml_log_level (ggml.h of the pinned llama.cpp) -> logging level; CONT continues the previous line
LEVELS = {0: logging.INFO, 1: logging.DEBUG, 2: logging.INFO, 3: logging.WARNING, 4: logging.ERROR}
CONT = 5
_last_level = [logging.INFO]

_capture: list[str] | None = None
_c_callbacks: dict[str, Any] = {}  # the ctypes function objects; llama.cpp keeps raw pointers to them


@interrupt.callback
def _on_log(level: int, text: bytes, user_data: Any) -> None:
    try:
        line = text.decode("utf-8", errors="replace") if text else ""
        if _capture is not None:
            _capture.append(line)
        py_level = _last_level[0] if level == CONT else LEVELS.get(level, logging.INFO)
        _last_level[0] = py_level
        if log.isEnabledFor(py_level):
            for part in line.splitlines():
                if part.strip():
                    log.log(py_level, "%s", part)
    except KeyboardInterrupt:  # Python's own handler (inhouse's is not installed): nothing may leave a callback
        interrupt.request()
    except Exception:  # noqa: BLE001 - a broken logging handler must not break a load
        pass


@interrupt.callback
def _on_progress(progress: float, user_data: Any) -> bool:
    try:
        return not interrupt.requested()  # False makes llama.cpp abort the load
    except KeyboardInterrupt:
        interrupt.request()
        return False


@interrupt.callback
def _on_abort(user_data: Any) -> bool:
    try:
        return interrupt.requested()  # True makes llama.cpp abort the decode
    except KeyboardInterrupt:
        interrupt.request()
        return True


def install() -> None:
    """Put inhouse's log callback in place of llama-cpp-python's (which prints) and its SIGINT
    handler in place of Python's default; forget an earlier interrupt. Call before llama.cpp work."""
    import llama_cpp

    if not _c_callbacks:
        _c_callbacks["log"] = llama_cpp.llama_log_callback(_on_log)
        _c_callbacks["progress"] = llama_cpp.llama_progress_callback(_on_progress)
        _c_callbacks["abort"] = llama_cpp.ggml_abort_callback(_on_abort)
    # llama-cpp-python sets its own log callback when imported; set ours every time
    llama_cpp.llama_log_set(_c_callbacks["log"], ctypes.c_void_p(0))
    interrupt.install()
    interrupt.reset()


def progress_callback():
    """For ``llama_model_params.progress_callback``: a load that stops on Ctrl-C."""
    install()
    return _c_callbacks["progress"]


def set_abort(llm, on: bool) -> None:
    """Let Ctrl-C abort decodes of the ``llama_cpp.Llama`` ``llm`` (or stop letting it).

    llama.cpp calls the check once per graph node (hundreds per token), from the thread that
    decodes. Worth it for a prompt evaluated in one call, which can take seconds; for single
    decoded tokens a Python call per node would cost a few percent of their speed, and Python
    gets control back after each token anyway, so it is switched off for them.
    """
    import llama_cpp

    ctx = getattr(getattr(llm, "_ctx", None), "ctx", None)
    if not ctx:  # closed
        return
    if not _c_callbacks:
        install()
    llama_cpp.llama_set_abort_callback(ctx, _c_callbacks["abort"] if on else llama_cpp.ggml_abort_callback(),
                                       ctypes.c_void_p(0))


@contextmanager
def abortable(llm) -> Iterator[None]:
    """Ctrl-C aborts decodes of ``llm`` inside this block, and is raised as KeyboardInterrupt
    (llama-cpp-python reports an aborted decode as a RuntimeError)."""
    set_abort(llm, True)
    try:
        yield
    except RuntimeError:
        if interrupt.requested():
            interrupt.deliver()
        raise
    finally:
        set_abort(llm, False)


@contextmanager
def capture() -> Iterator[list[str]]:
    """The pieces of text llama.cpp logs inside this block (process-wide: hold a lock around it
    when several threads load models)."""
    global _capture
    install()
    lines: list[str] = []
    previous, _capture = _capture, lines
    try:
        yield lines
    finally:
        _capture = previous
