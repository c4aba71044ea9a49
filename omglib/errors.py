"""User-facing errors: a mistake in the user's input, reported in one line, exit code 2."""

from __future__ import annotations

from pathlib import Path


class OmgError(Exception):
    """A problem the user can fix (bad path, malformed file, unknown name).

    The CLI prints ``str(error)`` and exits 2; library callers can catch it.
    """


class DataError(OmgError):
    """Malformed data file: names the file, the line (1-based, as an editor shows it) and the fix."""

    def __init__(self, path: str | Path, problem: str, line: int | None = None, fix: str = ""):
        self.path = Path(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else f"{self.path}"
        message = f"{where}: {problem}"
        if fix:
            message += f" ({fix})"
        super().__init__(message)
        self.fix = fix

    def __reduce__(self):  # picklable: a Dask worker sends it back to the client
        return type(self), (self.path, self.problem, self.line, self.fix)
