"""A district's data files' problems, as every console page shows them.

The loaders name each problem by file, row and column with a `Message` (`taxvan.errors`), so
it reads in the reader's language with its values. Every page that lists them (the import,
a new district's first upload) takes its rows from `problems_of` and draws them with the
`problems_table` macro of `templates/_data_problems.html`, so they all read alike.

The registry of taxpayers is private: a taxpayers file's problems keep their file, row and
column but not the values they quote (an ID, a name, a point).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from taxvan.errors import DataFileError, DataFolderError, DataProblem, TaxvanError
from taxvan.messages import Message
from web.i18n import translate
from web.operations.districts import DistrictConflictError, DistrictNameError

PRIVATE_FILES = ("taxpayers",)
"""Stems of the data files whose quoted values are left out of the page."""
PRIVATE_VALUES = frozenset({"value", "point", "detail"})
"""The names of a problem's values that quote the file's content."""
HIDDEN = "…"


@dataclass(frozen=True)
class Problem:
    """One row of a problems table, in the reader's language."""

    file: str
    row: int | None
    column: str | None
    message: str
    """What is wrong, without where (the table has columns for that)."""
    text: str
    """Where and what together ("第 3 行，“lat”列：…"), for a page that lists lines."""


def redacted(msg: Message | str) -> Message | str:
    """`msg` with its quoted values (`PRIVATE_VALUES`) replaced by "…", nested ones too."""
    if isinstance(msg, str):
        return msg
    values = {
        k: HIDDEN if k in PRIVATE_VALUES else redacted(v) if isinstance(v, Message) else v
        for k, v in msg.values.items()
    }
    return Message(msg.template, values)


def problem_row(path: str, p: DataProblem) -> Problem:
    """A loader's problem (or warning) for the page; a private file's without its values."""
    what = p.message
    if Path(path).stem in PRIVATE_FILES:
        what = redacted(what)
    return Problem(Path(path).name, p.row, p.column, translate(what), translate(p.text(what)))


def problems_of(exc: TaxvanError) -> list[Problem]:
    """Every problem of every file of a refused import; another refusal as one row."""
    if isinstance(exc, DataFolderError):
        return [problem_row(e.path, p) for e in exc.errors for p in e.problems]
    if isinstance(exc, DataFileError):
        return [problem_row(exc.path, p) for p in exc.problems]
    if isinstance(exc, DistrictConflictError | DistrictNameError):
        text = translate(exc.text)
    else:
        text = str(exc)
    return [Problem("", None, None, text, text)]
