"""Domain errors: one base class, messages a dispatcher can act on."""

from __future__ import annotations

from collections.abc import Sequence

from taxvan.messages import N_, Message
from taxvan.messages import message as _message


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
    """One problem in a data file: where it is and what is wrong.

    `message` is a `Message` (a template and its values), so the console can say it in the
    reader's language and leave out a private value; `str()` is the English line the command
    line prints ("row 3, column 'lat': ...")."""

    __slots__ = ("column", "message", "row")

    def __init__(
        self, message: Message | str, row: int | None = None, column: str | None = None
    ) -> None:
        self.row = row
        self.column = column
        self.message = message

    def text(self, message: Message | str | None = None) -> Message | str:
        """The problem with where it is ("row 3, column 'lat': ..."), as a Message;
        `message` replaces the problem's own (a redacted one, say)."""
        what = self.message if message is None else message
        if self.row is not None and self.column is not None:
            return _message(
                N_("row %(row)s, column '%(column)s': %(problem)s"),
                row=self.row,
                column=self.column,
                problem=what,
            )
        if self.row is not None:
            return _message(N_("row %(row)s: %(problem)s"), row=self.row, problem=what)
        if self.column is not None:
            return _message(
                N_("column '%(column)s': %(problem)s"), column=self.column, problem=what
            )
        return what

    def __str__(self) -> str:
        return str(self.text())

    def __repr__(self) -> str:
        return f"DataProblem({str(self.message)!r}, row={self.row!r}, column={self.column!r})"


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


def listing(items: Sequence[str]) -> Message | str:
    """Values one after another ("a, b, c"), with the reader's language's separator ("a、b、c")."""
    if len(items) <= 1:
        return "".join(items)
    return _message(N_("%(first)s, %(rest)s"), first=items[0], rest=listing(items[1:]))
