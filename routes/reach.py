"""Which stops a van's day can hold at all, so the covering choice asks only for those.

A stop is worth choosing only if some van can leave the hall at the start of its shift,
drive there, serve the shortest visit, keep its lunch break and be back by the end of the
shift. That is checked with the arithmetic routing itself uses (`routes.schedule`, the
same travel matrix), so a stop this lets through is one the routes can hold on an empty
day, and a stop it keeps out would have been dropped in every week.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from routes.schedule import schedule_day
from taxvan.clock import hhmm
from taxvan.errors import PlanningError
from taxvan.fleet import Van
from taxvan.messages import N_, Message, message


def _fits(node: int, dwell: int, seconds: np.ndarray, van: Van) -> bool:
    try:
        schedule_day([node], [dwell], seconds, van)
    except PlanningError:
        return False
    return True


def out_of_reach(
    seconds: np.ndarray, stop_nodes: Mapping[str, int], vans: Sequence[Van], dwell: int
) -> dict[str, Message]:
    """Stop id -> why no van's day can hold a `dwell`-minute visit there alone.

    `seconds` is the travel matrix with the hall at node 0; `stop_nodes` maps each stop to
    its node. A stop some van can serve on an empty day is not listed.
    """
    out: dict[str, Message] = {}
    if not vans:
        return out
    van = max(vans, key=lambda v: (v.working_minutes, v.id))
    for stop_id, node in stop_nodes.items():
        if any(_fits(node, dwell, seconds, v) for v in vans):
            continue
        trip = -(-(int(seconds[0][node]) + int(seconds[node][0])) // 60)
        if trip + dwell > van.working_minutes:
            out[stop_id] = message(
                N_(
                    "cannot be reached and served within a van's day: round trip %(trip)d min "
                    "+ visit %(visit)d min > shift %(shift)d min (%(start)s-%(end)s less a "
                    "%(lunch)d-min lunch)"
                ),
                trip=trip,
                visit=dwell,
                shift=van.working_minutes,
                start=hhmm(van.shift_start),
                end=hhmm(van.shift_end),
                lunch=van.lunch_minutes,
            )
        else:
            out[stop_id] = message(
                N_(
                    "cannot be reached and served within a van's day: a round trip of "
                    "%(trip)d min and a %(visit)d-min visit leave no room for the "
                    "%(lunch)d-min lunch break between %(lunch_from)s and %(lunch_to)s"
                ),
                trip=trip,
                visit=dwell,
                lunch=van.lunch_minutes,
                lunch_from=hhmm(van.lunch_earliest),
                lunch_to=hhmm(van.lunch_latest),
            )
    return out
