"""The SQLite store: machines, models and runs. See ``db.Store``."""

from .db import Store

__all__ = ["Store"]
