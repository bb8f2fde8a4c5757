"""The project's error types. Every reader raises :class:`InputError` naming file, line and expectation."""
from __future__ import annotations

from pathlib import Path


class TevatronExtError(Exception):
    """Base class of every error the toolkit raises on purpose (the CLI prints these without a traceback)."""


class InputError(TevatronExtError):
    """A malformed input file: names the file, the 1-based line (when known) and what was expected."""

    def __init__(self, path: str | Path | None, line: int | None, message: str):
        self.path = str(path) if path is not None else None
        self.line = line
        self.message = message
        where = self.path or "<input>"
        if line is not None:
            where += f":{line}"
        super().__init__(f"{where}: {message}")


class ConfigError(TevatronExtError):
    """Conflicting or invalid options (e.g. a flag that contradicts a model's encoder contract)."""


class OutputError(TevatronExtError):
    """An output could not be written (disk full, permission denied, ...)."""
