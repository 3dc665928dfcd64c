"""The errors a user can cause. The CLI prints them as one line and exits with code 2."""

from __future__ import annotations

from pathlib import Path


class RnnkitError(Exception):
    """Base class for every error rnnkit reports to a user as a single line."""


class DataError(RnnkitError):
    """A problem in an input file, located by path and (where there is one) line number."""

    def __init__(self, path: str | Path | None, message: str, line: int | None = None) -> None:
        self.path = None if path is None else str(path)
        self.line = line
        self.message = message
        where = self.path or "<input>"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}")


class CheckpointError(RnnkitError):
    """A checkpoint that is missing, corrupt, of another format or of another task."""


class ConfigError(RnnkitError):
    """A configuration with an unknown key or a value of the wrong type or range."""
