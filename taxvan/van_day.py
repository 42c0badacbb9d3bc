"""What a van's working day must keep, whatever put its visits there (a plan, a door-to-door
visit, a re-publish): visits one after another, inside the crew's shift, with room for lunch.

Plain data in, plain data out: `web.operations.invariants` checks the stored schedule with it,
and publishing refuses a draft that breaks it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

Span = tuple[int, int, str]
"""(start, end, what) of one busy stretch, minutes since midnight."""


@dataclass(frozen=True)
class DayProblem:
    """One broken rule of a van's day: `kind` is overlap, shift or lunch; `what` names the
    visits concerned; `start`/`end` the stretch at fault."""

    kind: str
    what: tuple[str, ...]
    start: int
    end: int


def lunch_fits(spans: list[Span], lunch: tuple[int, int, int]) -> bool:
    """Whether `lunch` = (minutes, earliest, latest) fits between the busy spans."""
    minutes, earliest, latest = lunch
    free_from = earliest
    for start, end, _what in sorted(spans):
        if end <= free_from:
            continue
        if min(start, latest) - free_from >= minutes:
            return True
        free_from = max(free_from, end)
    return latest - free_from >= minutes


def day_problems(
    spans: list[Span],
    shift: tuple[int, int] | None = None,
    lunch: tuple[int, int, int] | None = None,
) -> list[DayProblem]:
    """Every way the busy `spans` of one van on one day break the day's rules."""
    spans = sorted(spans)
    out = [
        DayProblem("overlap", (a, b), s2, e1)
        for (_s1, e1, a), (s2, _e2, b) in itertools.pairwise(spans)
        if s2 < e1
    ]
    if spans and shift and (spans[0][0] < shift[0] or spans[-1][1] > shift[1]):
        out.append(DayProblem("shift", (), spans[0][0], spans[-1][1]))
    if spans and lunch and not lunch_fits(spans, lunch):
        out.append(DayProblem("lunch", (), lunch[1], lunch[2]))
    return out
