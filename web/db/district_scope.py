"""Which rows belong to a district: the one place the console asks.

Stops carry their district (`StopRow.district_id`); a district's visits are those of the
current version of its published weeks (`current_weeks`): earlier versions stay stored for
the console's history but are not what the vans drive, so day sheets and disruptions never
see them.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select

from web.db.models import CurrentWeek, District, StopRow, VisitRow
from web.extensions import db


def stop_ids(district: District) -> list[str]:
    """Ids of the district's stops."""
    return list(
        db.session.scalars(
            select(StopRow.id).where(StopRow.district_id == district.id).order_by(StopRow.id)
        )
    )


def visit_in_district(district: District) -> ColumnElement[bool]:
    """A WHERE clause: the visit is in the current version of one of the district's weeks."""
    return VisitRow.published_id.in_(
        select(CurrentWeek.published_id).where(CurrentWeek.district_id == district.id)
    )
