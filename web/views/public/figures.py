"""The district's monthly totals on the public site: counts only, never a name, an ID, a phone
number or a booking code (aggregates of a whole district, so small counts are shown as they
are)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import gettext as _

from web.operations.statistics import public_months
from web.views.dispatch.stat_charts import Series, bar_chart
from web.views.public import district as here

CHART_MONTHS = 6
"""Months the chart shows (the table shows all twelve): six bars stay readable on a phone."""

bp = Blueprint("figures", __name__, url_prefix=here.PREFIX)
here.bind(bp)


@bp.get("/figures")
def figures() -> str:
    """The last twelve months' totals of the district, newest first, with a chart."""
    district = here.current()
    months = public_months(district)
    oldest_first = list(reversed(months[:CHART_MONTHS]))
    chart = bar_chart(
        "served",
        [m.label for m in oldest_first],
        [
            Series(_("booked"), [m.served_booked for m in oldest_first]),
            Series(_("walk-in"), [m.served_walk_in for m in oldest_first]),
        ],
        title=_("Taxpayers served"),
        desc=_(
            "Taxpayers served in each of the last six months, booked and walk-in stacked; "
            "the table gives the numbers."
        ),
    )
    return render_template("figures.html", district=district, months=months, chart=chart)
