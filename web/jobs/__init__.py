"""Planning a district's week in the background, from the console.

* `queue`: submitting, cancelling and retrying `PlanJob`s, and recognising dead ones;
* `runner`: what runs a job (the planner with a heartbeat, progress and a cancel flag) and
  saves its `Draft`, whole or not at all;
* `tasks`: the function RQ workers call; it builds the app itself;
* `drafts`: a planned week as a draft, and how the draft page reads it;
* `charts`: the pictures (server-side SVG) of the progress and draft pages.

With `REDIS_URL` jobs go to RQ workers (`flask --app app worker`, or `rq worker`), on as many
machines as share the database; without it, a thread of the web process runs them.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the `worker` command."""
    from web.jobs.commands import register

    register(app)
