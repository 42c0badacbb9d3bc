"""Domain errors: one base class, messages a dispatcher can act on."""

from __future__ import annotations


class TaxvanError(Exception):
    """Base of every error the domain and planner raise on purpose."""


class DataFileError(TaxvanError):
    """A data file cannot be used; nothing from it was loaded.

    Carries every problem found (file, row, column, message) so the dispatcher can fix the
    whole file in one go instead of one error per attempt.
    """

    def __init__(self, path: str, problems: list[DataProblem]) -> None:
        self.path = path
        self.problems = problems
        first = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(f"{path}: {first}{more}")

    def report(self) -> str:
        """All problems, one per line, each starting with the file name."""
        return "\n".join(f"{self.path}: {p}" for p in self.problems)


class DataProblem:
    """One problem in a data file: where it is and what is wrong."""

    __slots__ = ("column", "message", "row")

    def __init__(self, message: str, row: int | None = None, column: str | None = None) -> None:
        self.row = row
        self.column = column
        self.message = message

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return (", ".join(where) + ": " if where else "") + self.message

    def __repr__(self) -> str:
        return f"DataProblem({self.message!r}, row={self.row!r}, column={self.column!r})"


class DataFolderError(DataFileError):
    """Several files of a data folder cannot be used; nothing was loaded.

    `errors` holds one DataFileError per bad file, so a dispatcher sees every problem of
    every file in one run; `problems` is all of them together.
    """

    def __init__(self, folder: str, errors: list[DataFileError]) -> None:
        self.errors = errors
        problems = [p for e in errors for p in e.problems]
        super().__init__(errors[0].path, problems)
        self.folder = folder
        self.args = (
            f"{errors[0].path}: {errors[0].problems[0]} (and {len(problems) - 1} more problems "
            f"in {len(errors)} files)",
        )

    def __str__(self) -> str:
        return str(self.args[0])

    def report(self) -> str:
        """All problems of all files, one per line, each starting with its file name."""
        return "\n".join(e.report() for e in self.errors)


class CalendarUnknownError(TaxvanError):
    """The State Council has not published the holiday schedule for this year yet."""


class PlanningError(TaxvanError):
    """The week cannot be planned as asked (no working day, no van, no solution)."""
