"""Where stackrig keeps its data: one folder, resolved once at the CLI edge.

Precedence: ``--data-dir``, then ``$STACKRIG_HOME``, then
``$XDG_DATA_HOME/stackrig``, then ``~/.local/share/stackrig``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Paths"]


@dataclass(frozen=True)
class Paths:
    """The data folder and what lives in it. Nothing is created until asked."""

    data_dir: Path

    @classmethod
    def resolve(cls, override: str | os.PathLike[str] | None, environ: Mapping[str, str]) -> Paths:
        if override:
            return cls(Path(override).expanduser().absolute())
        if environ.get("STACKRIG_HOME"):
            return cls(Path(environ["STACKRIG_HOME"]).expanduser().absolute())
        if environ.get("XDG_DATA_HOME"):
            return cls(Path(environ["XDG_DATA_HOME"]).expanduser().absolute() / "stackrig")
        home = Path(environ.get("HOME") or Path.home())
        return cls(home / ".local" / "share" / "stackrig")

    @property
    def db(self) -> Path:
        """The SQLite file (bench history and anything else tabular)."""
        return self.data_dir / "stackrig.db"

    @property
    def runs(self) -> Path:
        """Bench run folders (default of ``--runs-dir``)."""
        return self.data_dir / "runs"

    @property
    def cache(self) -> Path:
        return self.data_dir / "cache"

    @property
    def qos(self) -> Path:
        return self.data_dir / "qos"

    @property
    def tune_backups(self) -> Path:
        return self.data_dir / "tune" / "backups"

    @property
    def logs(self) -> Path:
        return self.data_dir / "logs"
