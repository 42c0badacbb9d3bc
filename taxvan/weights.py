"""Weights: how many remote taxpayers each street and each stop stands for."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from taxvan.taxpayers import Taxpayer


@dataclass(frozen=True, slots=True)
class Weights:
    """Remote taxpayers per street (by registration) and per stop catchment.

    A taxpayer's catchment stop is the stop nearest to it by travel time. `stop_all` counts
    every taxpayer in a catchment and breaks ties when a street has no remote taxpayer.
    """

    street_remote: dict[str, int]
    stop_remote: dict[str, int]
    stop_all: dict[str, int]
    total_taxpayers: int
    total_remote: int

    @property
    def remote_share(self) -> float:
        return self.total_remote / self.total_taxpayers if self.total_taxpayers else 0.0


def count_weights(
    taxpayers: Sequence[Taxpayer],
    remote: Sequence[bool],
    nearest_stop: Sequence[str],
    street_codes: Sequence[str],
    stop_ids: Sequence[str],
) -> Weights:
    """Count remote taxpayers per street and per catchment stop.

    `remote[i]` and `nearest_stop[i]` belong to `taxpayers[i]`. Every street and stop named
    appears in the result, with zero where nobody is counted.
    """
    if not len(taxpayers) == len(remote) == len(nearest_stop):
        raise ValueError("taxpayers, remote flags and nearest stops must have the same length")
    street = Counter(t.street_code for t, r in zip(taxpayers, remote, strict=True) if r)
    stop_r = Counter(s for s, r in zip(nearest_stop, remote, strict=True) if r)
    stop_a = Counter(nearest_stop)
    return Weights(
        street_remote={c: street.get(c, 0) for c in street_codes},
        stop_remote={s: stop_r.get(s, 0) for s in stop_ids},
        stop_all={s: stop_a.get(s, 0) for s in stop_ids},
        total_taxpayers=len(taxpayers),
        total_remote=sum(1 for r in remote if r),
    )
