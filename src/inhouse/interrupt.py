"""Ctrl-C that reaches inhouse while llama.cpp runs.

Python runs a signal handler on the main thread, between bytecodes. While llama.cpp works, the
only bytecodes that run are those of the ctypes callbacks it calls (log lines, load progress,
the compute abort check). Python's own handler raises KeyboardInterrupt there; ctypes prints it
as "Exception ignored on calling ctypes callback function" and drops it, and llama.cpp carries
on as if nothing happened.

inhouse's SIGINT handler acts like Python's everywhere else. Inside a function marked with
``callback`` (or anything it calls) it only records the request, which the callbacks pass on to
llama.cpp (a load or a decode stops), and owes the KeyboardInterrupt: a helper thread raises
SIGINT again once the main thread has let go of the interpreter (llama.cpp's C code runs without
it), until the handler runs outside the callbacks and raises. Where llama.cpp reports that it
stopped, ``deliver`` raises the owed KeyboardInterrupt at once, so the failure is never taken
for a real one. (The handler cannot raise SIGINT again itself: Python would run it again right
away, inside itself.)

A request stays set after it is delivered, so that llama.cpp work on other threads stops too;
``reset`` clears it when the main thread starts new llama.cpp work.
"""

from __future__ import annotations

import _thread
import signal
import threading
from types import CodeType, FrameType
from typing import Callable, NoReturn, TypeVar

F = TypeVar("F", bound=Callable)

_callbacks: set[CodeType] = set()
_requested = False  # Ctrl-C seen: llama.cpp work should stop
_owed = False  # Ctrl-C seen inside a callback and not raised yet
_redelivered = False  # the pending SIGINT is the helper's, not the user's
_wake = threading.Event()
_helper: threading.Thread | None = None


def callback(fn: F) -> F:
    """Mark ``fn`` as called from C through ctypes: an interrupt never raises inside it."""
    _callbacks.add(fn.__code__)
    return fn


def requested() -> bool:
    """Whether Ctrl-C was pressed since the main thread last started llama.cpp work."""
    return _requested


def request() -> None:
    """Record an interrupt (a callback that caught KeyboardInterrupt itself calls this)."""
    global _requested
    _requested = True


def reset() -> None:
    """Forget an earlier interrupt; only the main thread, where interrupts are delivered, may."""
    global _requested
    if threading.current_thread() is threading.main_thread() and not _owed:
        _requested = False


def deliver() -> NoReturn:
    """Raise the KeyboardInterrupt for a request (where llama.cpp stopped because of it)."""
    global _owed
    _owed = False
    raise KeyboardInterrupt


def install() -> None:
    """Use inhouse's SIGINT handler in place of Python's default one. Only from the main thread,
    and only where Python's default is in place: a handler someone else set is left alone."""
    global _helper
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        if _helper is None:
            _helper = threading.Thread(target=_redeliver, name="inhouse-interrupt", daemon=True)
            _helper.start()
        signal.signal(signal.SIGINT, _on_sigint)


def in_callback(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code in _callbacks:
            return True
        frame = frame.f_back
    return False


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    global _owed, _redelivered
    redelivered, _redelivered = _redelivered, False
    if redelivered and not _owed:
        return  # already delivered (``deliver``)
    request()
    if in_callback(frame):
        _owed = True
        _wake.set()
        return
    _owed = False
    raise KeyboardInterrupt


def _redeliver() -> None:
    global _redelivered
    while True:
        _wake.wait()
        _wake.clear()
        if _owed:
            _redelivered = True
            _thread.interrupt_main(signal.SIGINT)
