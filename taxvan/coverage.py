"""Coverage: how near the van comes to the remote taxpayers, and stops chosen to raise it.

What matters to a villager is how far the nearest stop the van visits this week is, not how
many hours the van spends at one stop. So the plan's service measure is the share of remote
taxpayers within 10, 15 and 20 minutes of a visited stop (this week, and within two weeks for
every-other-week stops), and the stops to visit can be chosen to raise it: a weighted maximal
covering choice, greedy, with a visit budget per street so the streets keep their shares.

Plain arrays in, plain numbers out: travel times come from whatever matrix provider the
planner uses (`routes` builds them), so this module knows nothing about roads or OR-Tools.
`times[i, j]` is the travel time in seconds from remote taxpayer `i` to stop `j`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_COVER_MINUTES: tuple[int, ...] = (10, 15, 20)
"""Trip lengths (minutes, taxpayer to stop) the coverage is counted at; the first is the
one the covering choice is made for, the others break its ties."""


class CoverageInputError(ValueError):
    """The arrays given to a coverage function do not fit together."""

    def __init__(self, what: str, expected: object, got: object) -> None:
        self.what = what
        self.expected = expected
        self.got = got
        super().__init__(f"{what}: expected {expected}, got {got}")


@dataclass(frozen=True, slots=True)
class Coverage:
    """Remote taxpayers within each trip length of a visited stop, overall and per street."""

    minutes: tuple[int, ...]
    total: int
    within: dict[int, int]
    """Trip minutes -> remote taxpayers with a visited stop at most that far."""
    street_total: dict[str, int]
    street_within: dict[str, dict[int, int]]
    """Street code -> trip minutes -> remote taxpayers of that street within reach."""

    def share(self, minutes: int) -> float:
        """Share of all remote taxpayers within `minutes` of a visited stop (0 with none)."""
        return self.within[minutes] / self.total if self.total else 0.0

    def street_share(self, street: str, minutes: int) -> float:
        n = self.street_total.get(street, 0)
        return self.street_within[street][minutes] / n if n else 0.0

    def uncovered(self, minutes: int) -> int:
        return self.total - self.within[minutes]


def _check(times: np.ndarray, stop_ids: Sequence[str], rows: int | None = None) -> None:
    if times.ndim != 2:
        raise CoverageInputError("travel times", "a taxpayers x stops array", times.shape)
    if times.shape[1] != len(stop_ids):
        raise CoverageInputError("stops in the travel times", len(stop_ids), times.shape[1])
    if rows is not None and times.shape[0] != rows:
        raise CoverageInputError("taxpayers in the travel times", rows, times.shape[0])


def nearest_visited_seconds(
    times: np.ndarray, stop_ids: Sequence[str], visited: set[str] | frozenset[str]
) -> np.ndarray:
    """Per remote taxpayer, seconds to the nearest visited stop (infinity when none is)."""
    _check(times, stop_ids)
    cols = [j for j, s in enumerate(stop_ids) if s in visited]
    if not cols or times.shape[0] == 0:
        return np.full(times.shape[0], np.inf)
    return times[:, cols].min(axis=1).astype(float)


def coverage(
    times: np.ndarray,
    stop_ids: Sequence[str],
    streets: Sequence[str],
    visited: set[str] | frozenset[str],
    minutes: Sequence[int] = DEFAULT_COVER_MINUTES,
) -> Coverage:
    """Count remote taxpayers within each of `minutes` of a stop in `visited`.

    `streets[i]` is the street taxpayer `i` is registered in: coverage per street counts a
    street's own taxpayers, whichever street's stop reaches them.
    """
    _check(times, stop_ids, len(streets))
    near = nearest_visited_seconds(times, stop_ids, visited)
    street_arr = np.asarray(list(streets), dtype=object)
    codes = sorted(set(streets))
    within = {m: int((near <= m * 60).sum()) for m in minutes}
    street_total = {c: int((street_arr == c).sum()) for c in codes}
    street_within = {
        c: {m: int(((near <= m * 60) & (street_arr == c)).sum()) for m in minutes} for c in codes
    }
    return Coverage(tuple(minutes), len(streets), within, street_total, street_within)


def nearest_stop_counts(
    times: np.ndarray, stop_ids: Sequence[str], visited: set[str] | frozenset[str]
) -> dict[str, int]:
    """Remote taxpayers per visited stop, each counted at the visited stop nearest to it.

    This is the catchment that sizes a chosen stop's dwell: a stop visited because it is
    near many people is given the time those people need, not only its own village's.
    Ties go to the stop listed first.
    """
    _check(times, stop_ids)
    cols = [j for j, s in enumerate(stop_ids) if s in visited]
    out = {stop_ids[j]: 0 for j in cols}
    if not cols or times.shape[0] == 0:
        return out
    best = np.asarray(cols)[times[:, cols].argmin(axis=1)]
    for j, n in zip(*np.unique(best, return_counts=True), strict=True):
        out[stop_ids[int(j)]] = int(n)
    return out


@dataclass(frozen=True, slots=True)
class CoverChoice:
    """The stops a covering choice visits, in the order the greedy took them."""

    stops: tuple[str, ...]
    covered: int
    """Remote taxpayers within the first trip length of a chosen stop."""
    total: int


def greedy_cover(
    times: np.ndarray,
    stop_ids: Sequence[str],
    stop_streets: Sequence[str],
    budgets: Mapping[str, int],
    minutes: Sequence[int] = DEFAULT_COVER_MINUTES,
    max_stops: int | None = None,
    exclude: frozenset[str] | set[str] = frozenset(),
) -> CoverChoice:
    """Choose stops to visit so the most remote taxpayers are within a short trip of one.

    Weighted maximal covering, greedy: repeatedly take the stop that brings the most remote
    taxpayers newly within `minutes[0]`; ties go to the one bringing most within
    `minutes[1]`, then `minutes[2]`, ..., then to the stop listed first. A street takes at
    most `budgets[street]` stops (a street without a budget takes none), the whole choice at
    most `max_stops`; a stop in `exclude` (one the van's days cannot hold) is never taken,
    so the next-best stop is. It stops early when no stop would reach anyone new. Greedy
    covering is within 1 - 1/e of the best choice in theory and usually within a point in
    practice;
    `bench/coverage.py` checks it against the exact optimum.
    """
    _check(times, stop_ids)
    if len(stop_streets) != len(stop_ids):
        raise CoverageInputError("streets of the stops", len(stop_ids), len(stop_streets))
    if any(b < 0 for b in budgets.values()):
        raise CoverageInputError("street budgets", "numbers >= 0", dict(budgets))
    n = times.shape[0]
    reach = [times <= m * 60 for m in minutes]  # each taxpayers x stops, bool
    covered = [np.zeros(n, dtype=bool) for _ in minutes]
    left = dict(budgets)
    cap = len(stop_ids) if max_stops is None else max_stops
    chosen: list[int] = []
    while len(chosen) < cap:
        open_cols = [
            j
            for j in range(len(stop_ids))
            if j not in chosen and left.get(stop_streets[j], 0) > 0 and stop_ids[j] not in exclude
        ]
        if not open_cols:
            break
        gains = [
            (r[:, open_cols] & ~c[:, None]).sum(axis=0) for r, c in zip(reach, covered, strict=True)
        ]
        # Best by the first trip length, then the next ones, then the stop listed first.
        order = np.lexsort([-np.arange(len(open_cols)), *gains[::-1]])
        best = int(order[-1])
        if not any(g[best] > 0 for g in gains):
            break
        j = open_cols[best]
        chosen.append(j)
        left[stop_streets[j]] -= 1
        for r, c in zip(reach, covered, strict=True):
            c |= r[:, j]
    return CoverChoice(tuple(stop_ids[j] for j in chosen), int(covered[0].sum()), n)
