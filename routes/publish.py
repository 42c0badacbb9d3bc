"""From a plan to the published timetable rows."""

from __future__ import annotations

from routes.plan import Plan
from taxvan.dataset import Dataset
from taxvan.timetable import TimetableRow


def timetable_rows(plan: Plan, dataset: Dataset) -> list[TimetableRow]:
    """One row per planned visit, by date, van and order."""
    stops = {s.id: s for s in dataset.stops}
    streets = {s.code: s.name for s in dataset.streets}
    rows = []
    for r in sorted(plan.routes, key=lambda r: (r.date, r.van_id)):
        for v in r.visits:
            s = stops[v.stop_id]
            rows.append(
                TimetableRow(
                    v.date,
                    v.van_id,
                    v.order,
                    s.id,
                    s.name,
                    streets.get(s.street_code, s.street_code),
                    v.start,
                    v.end,
                    s.lat,
                    s.lon,
                )
            )
    return rows
