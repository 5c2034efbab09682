"""Where inhouse keeps its files, and the user's settings.

Everything lives under one home folder: the platform's user data directory, or ``INHOUSE_HOME``
when set (tests point it at a temp dir). Settings are a small JSON file there; environment
variables override it so that one-off runs need no file edits.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError

ENV_HOME = "INHOUSE_HOME"
ENV_MODEL_DIRS = "INHOUSE_MODEL_DIRS"


def home_dir() -> Path:
    """The folder that holds the store, settings and assembled models."""
    env = os.environ.get(ENV_HOME)
    if env:
        path = Path(env).expanduser()
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir("inhouse", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def store_path() -> Path:
    return home_dir() / "inhouse.db"


def models_dir() -> Path:
    """Where inhouse writes model files it assembles itself (e.g. Gemma 3 from its PyPI chunks)."""
    path = home_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class Settings:
    """User settings, from ``settings.json`` in the home folder plus environment overrides."""

    model_dirs: list[Path] = field(default_factory=list)

    @classmethod
    def load(cls) -> "Settings":
        path = home_dir() / "settings.json"
        data: dict = {}
        if path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ConfigError(
                    f"Cannot read settings file {path}: {exc}. Fix or delete it."
                ) from exc
            if not isinstance(data, dict):
                raise ConfigError(f"Settings file {path} must hold a JSON object. Fix or delete it.")
        dirs = [Path(p).expanduser() for p in data.get("model_dirs", [])]
        env = os.environ.get(ENV_MODEL_DIRS)
        if env:
            dirs += [Path(p).expanduser() for p in env.split(os.pathsep) if p]
        return cls(model_dirs=dirs)

    def save(self) -> Path:
        path = home_dir() / "settings.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(
            json.dumps({"model_dirs": [str(p) for p in self.model_dirs]}, indent=2) + "\n",
            encoding="utf-8",
        )
        os.replace(tmp, path)
        return path
