"""Which rows belong to a district: the one place the console asks.

Streets, stops and published weeks carry no district column yet; until they do, a district's
stops are the ids its last import brought (`District.rows["stops"]`). When the district columns
land, `stop_ids` (and only it) changes to a query on `StopRow.district_id`.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement

from web.models import District, VisitRow


def stop_ids(district: District) -> list[str]:
    """Ids of the district's stops."""
    return list(district.rows.get("stops", []))


def visit_in_district(district: District) -> ColumnElement[bool]:
    """A WHERE clause: the visit is to one of the district's stops."""
    return VisitRow.stop_id.in_(stop_ids(district))
