"""Shared fixtures and helpers, kept by concern in `tests/fixtures/` (the browser, the
planner's demo week, the web app); imported here so every test finds the fixtures and
`from tests.conftest import ...` keeps working."""

from tests.fixtures.browser import (  # noqa: F401
    chromium_page,
    laptop_page,
    phone_page,
    read_qr,
    sign_in_page,
)
from tests.fixtures.planning import (  # noqa: F401
    DEMO,
    HALL,
    ROOT,
    WEEK49,
    demo_dataset,
    demo_plan,
    demo_problem,
    demo_templates,
    demo_week,
    make_problem,
    matrix_cache,
    ring_stops,
    van,
    visit,
)
from tests.fixtures.webapp import (  # noqa: F401
    CHINA_NOW,
    OTHER_USCC,
    PG_SERVER,
    VALID_USCC,
    _dispose,
    _sqlite_app,
    _web_config,
    app,
    build_app,
    client,
    live_url,
    open_visit,
    pg_session_app,
    pg_url,
    reset_published,
    service_row,
    serving,
    sqlite_app,
    sqlite_template,
)
