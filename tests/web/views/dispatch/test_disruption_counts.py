"""Before calling a day off, the disruption page shows how many bookings each visit and each
day holds."""

from __future__ import annotations

import re

from tests.web.daysupport import DAY, book
from tests.web.operations.test_disruptions import day  # noqa: F401  (fixture)
from tests.web.views.dispatch.test_dispatch import console, sign_in  # noqa: F401  (fixture)

URL = "/dispatch/districts/fangzi/disruptions"


def test_each_visit_and_day_shows_its_bookings_before_it_is_called_off(app, day):  # noqa: F811
    a, b = day.visits[0], day.visits[1]
    with app.app_context():
        book(a.id, 1)
        book(a.id, 2)
    client = app.test_client()
    sign_in(client, "ann")
    page = client.get(URL).get_data(as_text=True)
    row_a = re.search(rf'<li>(?:(?!</li>).)*href="\?visit={a.id}"', page, re.S).group(0)
    row_b = re.search(rf'<li>(?:(?!</li>).)*href="\?visit={b.id}"', page, re.S).group(0)
    assert '<span class="booked">2 个预约</span>' in row_a
    assert '<span class="booked">0 个预约</span>' in row_b
    assert re.search(rf"{DAY.isoformat()} （\d+ 次服务，2 个预约）</summary>", page)

    chosen_day = client.get(f"{URL}?date={DAY.isoformat()}").get_data(as_text=True)
    assert "该日有效预约：2 个。" in chosen_day
    chosen_visit = client.get(f"{URL}?visit={a.id}").get_data(as_text=True)
    assert '<strong class="booked">2 个预约</strong>' in chosen_visit
