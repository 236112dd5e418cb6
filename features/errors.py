"""Exceptions raised by Linli's data layer. Each says what is wrong and what to do next."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class Violation:
    """One contract violation in one cell (or row, when ``column`` is empty).

    ``row`` is the 1-based data row (the header is not counted; in a CSV file it is line ``row + 1``).
    """

    source: str
    row: int | None
    column: str
    message: str

    def __str__(self) -> str:
        where = self.source
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column '{self.column}'"
        return f"{where}: {self.message}"


class LinliDataError(ValueError):
    """Base class of data errors."""


class DataValidationError(LinliDataError):
    """Input data broke its contract. Carries every violation found, not only the first.

    Parameters
    ----------
    violations : list of Violation
        All violations found (possibly truncated to ``max_kept`` detailed entries).
    total : int, optional
        Total number of violations, when more were found than kept.
    """

    def __init__(self, violations: list[Violation], total: int | None = None, shown: int = 25) -> None:
        self.violations = violations
        self.total = total if total is not None else len(violations)
        counts = Counter((v.source, v.column) for v in violations)
        lines = [f"{self.total} data contract violation(s); fix the input and load again."]
        lines += [f"  {src} · '{col or '(row)'}': {n}" for (src, col), n in sorted(counts.items())]
        lines += [f"  - {v}" for v in violations[:shown]]
        if len(violations) > shown:
            lines.append(f"  ... and {self.total - shown} more (see DataValidationError.violations)")
        super().__init__("\n".join(lines))


class UnknownIdError(LinliDataError, KeyError):
    """An external id is not in the dataset's id map."""

    def __init__(self, kind: str, unknown: list[str]) -> None:
        self.kind = kind
        self.unknown = unknown
        shown = ", ".join(repr(u) for u in unknown[:10])
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        super().__init__(f"unknown {kind} id(s): {shown}{more}")

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return str(self.args[0])


class SourceError(LinliDataError):
    """A source (file, folder, database) cannot be read at all."""


class StrayRowsWarning(UserWarning):
    """Rows were dropped for being out of bounds (e.g. dated in the future); the message names how many."""
