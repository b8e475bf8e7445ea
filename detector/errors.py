"""Domain errors. Each one says what was seen and what to do instead; the CLI prints them
without a traceback."""

from __future__ import annotations


class DetectorError(Exception):
    """Base class for every error the detector raises on purpose."""


class ConfigError(DetectorError):
    """A config file or value is invalid."""


class InputError(DetectorError):
    """A feed file, row or field is invalid.

    The message always names the file, the 1-based data row (header excluded) where there is one,
    the field, what was seen and the fix.
    """

    def __init__(
        self,
        file: str,
        problem: str,
        fix: str,
        *,
        row: int | None = None,
        field: str | None = None,
        seen: object = None,
    ) -> None:
        self.file, self.row, self.field, self.seen = file, row, field, seen
        self.problem, self.fix = problem, fix
        where = file
        if row is not None:
            where += f", row {row}"
        if field is not None:
            where += f", field '{field}'"
        seen_text = "" if seen is None else f" (saw {_short(seen)})"
        super().__init__(f"{where}: {problem}{seen_text}. Fix: {fix}")

    def __reduce__(self) -> tuple[object, ...]:
        # Rebuilt from its parts (keyword-only ones included) when it crosses a process boundary
        # (an engine's worker read the file); the default would call InputError(message).
        return _input_error, (self.file, self.problem, self.fix, self.row, self.field, self.seen)


def _input_error(
    file: str, problem: str, fix: str, row: int | None, field: str | None, seen: object
) -> InputError:
    return InputError(file, problem, fix, row=row, field=field, seen=seen)


class StoreBusyError(DetectorError):
    """Another process holds the store."""


class StoreDamagedError(DetectorError):
    """The store file is not a DuckDB database, or DuckDB found it damaged."""


class OutputError(DetectorError):
    """A report folder or the store cannot be written (read-only, full, no permission)."""


class NotFoundError(DetectorError):
    """A store, run or narrative named on the command line does not exist."""


class ResourceError(DetectorError):
    """A run would need more memory than allowed; refused before it starts the heavy work."""


class MissingDependencyError(DetectorError):
    """An optional extra is not installed."""


def _short(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
