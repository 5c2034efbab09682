"""llama.cpp's log, routed into Python's ``logging`` (logger ``inhouse.llama_cpp``) at its true level.

The callback lives in ``llama_callbacks`` (it also keeps Ctrl-C working inside llama.cpp); this
module keeps the names the log routing is known by.
"""

from __future__ import annotations

from .llama_callbacks import CONT, LEVELS, install, log as logger

__all__ = ["CONT", "LEVELS", "install", "logger"]
