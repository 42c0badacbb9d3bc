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
    if total < 0 or floor < 0:
        raise ValueError("total and floor must not be negative")
    keys = list(weights)
    if not keys:
        if total:
            raise ValueError("nothing to share the units among")
        return {}
    if any(w < 0 or math.isnan(w) for w in weights.values()):
        raise ValueError("weights must not be negative")
    if floor * len(keys) > total:
        raise ValueError(f"{total} units cannot give each of {len(keys)} keys the floor of {floor}")

    fixed: dict[K, int] = {}
    free = list(keys)
    while True:
        remaining = total - floor * len(fixed)
        weight_sum = sum(weights[k] for k in free)
        if weight_sum == 0:
            quotas = {k: remaining / len(free) for k in free}
        else:
            quotas = {k: remaining * weights[k] / weight_sum for k in free}
        under = [k for k in free if quotas[k] < floor]
        if not under:
            break
        for k in under:
            fixed[k] = floor
        free = [k for k in free if k not in fixed]
        if not free:
            break

    result = dict(fixed)
    if free:
        base = {k: math.floor(quotas[k]) for k in free}
        left = total - sum(result.values()) - sum(base.values())
        order = sorted(
            range(len(free)),
            key=lambda i: (-(quotas[free[i]] - base[free[i]]), -weights[free[i]], i),
        )
        for i in order[:left]:
            base[free[i]] += 1
        result.update(base)
    return {k: result[k] for k in keys}
