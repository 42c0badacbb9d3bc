"""Exact-sum apportionment: share a whole number of units out by weight.

Largest-remainder (Hamilton) method with a floor: every key gets at least `floor` units,
keys whose proportional quota falls under the floor are fixed at the floor and the rest is
shared again among the others, so the floor costs the big keys, not the rounding.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


def apportion(total: int, weights: Mapping[K, float], floor: int = 0) -> dict[K, int]:
    """Split `total` units among `weights`' keys; the result sums to `total` exactly.

    Ties in the remainders go to the larger weight, then to the key order given, so the
    result is deterministic. Zero weights get only the floor.
    """
    _check_arguments(total, weights, floor)
    if not weights:
        return {}
    fixed, free, quotas = _quotas_above_floor(total, weights, floor)
    result = dict(fixed)
    if free:
        result.update(_largest_remainders(total - sum(fixed.values()), free, quotas, weights))
    return {k: result[k] for k in weights}


def _check_arguments(total: int, weights: Mapping[K, float], floor: int) -> None:
    """ValueError unless the units can be shared at all: nothing negative, somewhere to put
    them, and enough of them for every key's floor."""
    if total < 0 or floor < 0:
        raise ValueError("total and floor must not be negative")
    if not weights:
        if total:
            raise ValueError("nothing to share the units among")
        return
    if any(w < 0 or math.isnan(w) for w in weights.values()):
        raise ValueError("weights must not be negative")
    if floor * len(weights) > total:
        raise ValueError(
            f"{total} units cannot give each of {len(weights)} keys the floor of {floor}"
        )


def _quotas_above_floor(
    total: int, weights: Mapping[K, float], floor: int
) -> tuple[dict[K, int], list[K], dict[K, float]]:
    """(keys fixed at the floor, the other keys, their proportional quotas): keys whose
    quota falls under the floor are fixed there and the rest is shared again among the
    others, until every other quota is at least the floor."""
    fixed: dict[K, int] = {}
    free = list(weights)
    while True:
        remaining = total - floor * len(fixed)
        weight_sum = sum(weights[k] for k in free)
        if weight_sum == 0:
            quotas = {k: remaining / len(free) for k in free}
        else:
            quotas = {k: remaining * weights[k] / weight_sum for k in free}
        under = [k for k in free if quotas[k] < floor]
        if not under:
            return fixed, free, quotas
        for k in under:
            fixed[k] = floor
        free = [k for k in free if k not in fixed]
        if not free:
            return fixed, free, quotas


def _largest_remainders(
    units: int, free: list[K], quotas: dict[K, float], weights: Mapping[K, float]
) -> dict[K, int]:
    """`units` shared among `free` keys: each quota rounded down, the units left over one
    each to the largest remainders (ties: larger weight, then key order)."""
    base = {k: math.floor(quotas[k]) for k in free}
    left = units - sum(base.values())
    order = sorted(
        range(len(free)),
        key=lambda i: (-(quotas[free[i]] - base[free[i]]), -weights[free[i]], i),
    )
    for i in order[:left]:
        base[free[i]] += 1
    return base
