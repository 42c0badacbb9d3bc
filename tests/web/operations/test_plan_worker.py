"""Plans on a real RQ worker: `flask worker` started as its own process against the test Redis
(a queue of its own) and the test database (the PostgreSQL session database, or the test's
SQLite file), as a machine beside the web servers would run it.

One test per database walks the three stories, to start the worker once: a job runs to a
draft; cancel stops the search early; a work horse killed with SIGKILL mid-solve leaves the
job failed with nothing saved, and Retry plans it on the same worker."""

from __future__ import annotations

import dataclasses
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import ROOT
from tests.web.operations.test_plan_jobs import ann, ended, job_id_of, plan, searching, wait_for  # noqa: F401
from tests.web.views.dispatch.test_dispatch import _token, console  # noqa: F401
from web.db.models import Draft, PlanJob
from web.extensions import db

REDIS = os.environ.get("TAXVAN_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.fixture
def rq_app(app):
    """The app sending plans to an RQ queue of this test's own."""
    from redis import Redis
    from rq import Queue

    queue = f"taxvan-test-plans-{os.getpid()}-{secrets.token_hex(4)}"
    before = app.config["TAXVAN"]
    app.config["TAXVAN"] = dataclasses.replace(before, redis_url=REDIS, queue_name=queue)
    yield app
    app.config["TAXVAN"] = before  # the PostgreSQL app is shared by the session
    Queue(queue, connection=Redis.from_url(REDIS)).delete(delete_jobs=True)


@pytest.fixture
def worker(rq_app, tmp_path: Path):
    """`flask worker` in a process of its own, with the settings a worker machine would have."""
    from redis import Redis
    from rq import Queue, Worker

    cfg = rq_app.config["TAXVAN"]
    url = rq_app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg://", "postgresql://")
    instance = tmp_path / "worker-instance"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": REDIS,
        "TAXVAN_QUEUE": cfg.queue_name,
        "TAXVAN_CACHE_DIR": str(tmp_path / "worker-cache"),
        "TAXVAN_WORKERS": "1",
        "TAXVAN_SECRET_KEY": secrets.token_hex(16),
    }
    name = f"test-worker-{secrets.token_hex(4)}"
    log = (tmp_path / "worker.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            f"web:create_app({{'INSTANCE_PATH': {str(instance)!r}}})",
            "worker",
            "--name",
            name,
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    connection = Redis.from_url(REDIS)
    deadline = time.monotonic() + 60
    queue = Queue(cfg.queue_name, connection=connection)
    while not any(w.name == name for w in Worker.all(queue=queue)):
        if proc.poll() is not None or time.monotonic() > deadline:
            log.close()
            pytest.fail("the worker did not start:\n" + (tmp_path / "worker.log").read_text())
        time.sleep(0.2)
    yield proc
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


def _job(app, job_id: int) -> PlanJob:
    with app.app_context():
        job = db.session.get(PlanJob, job_id)
        db.session.expunge(job)
        return job


def test_an_rq_worker_plans_cancels_and_survives_a_killed_work_horse(rq_app, worker, ann):  # noqa: F811
    app = rq_app
    # 1. a job runs to a draft, in the worker's process
    job = job_id_of(plan(ann, time_limit="2", new_template="y"))
    state = wait_for(ann, job, ended, timeout=120)
    assert state["status"] == "succeeded", state
    assert state["progress"] and state["draft_id"]
    done = _job(app, job)
    assert done.runner == "rq" and done.rq_id
    assert int(done.worker.rsplit(":", 1)[1]) not in (os.getpid(), worker.pid), "a work horse"
    page = ann.get(state["draft_url"]).get_data(as_text=True)
    assert "share-chart" in page and "<iframe" in page

    # 2. cancel stops the search early
    job = job_id_of(plan(ann, time_limit="60", new_template="y"))
    wait_for(ann, job, searching, timeout=60)
    asked = time.monotonic()
    token = _token(ann, f"/dispatch/districts/fangzi/jobs/{job}")
    ann.post(f"/dispatch/districts/fangzi/jobs/{job}/cancel", data={"csrf_token": token})
    state = wait_for(ann, job, ended, timeout=30)
    assert state["status"] == "cancelled", state
    assert time.monotonic() - asked < 15, "stopped long before its 60 s"

    # 3. the work horse killed mid-solve: failed, nothing saved, retry succeeds
    job = job_id_of(plan(ann, time_limit="6", new_template="y"))
    state = wait_for(ann, job, searching, timeout=60)
    assert state["status"] == "running"
    horse = int(_job(app, job).worker.rsplit(":", 1)[1])
    os.kill(horse, signal.SIGKILL)
    state = wait_for(ann, job, ended, timeout=60)
    assert state["status"] == "failed", state
    assert "worker stopped" in state["error"] and "nothing was saved" in state["error"]
    assert state["draft_id"] is None
    with app.app_context():
        assert db.session.scalar(select(Draft).where(Draft.job_id == job)) is None
    assert worker.poll() is None, "the worker itself lives on"

    token = _token(ann, f"/dispatch/districts/fangzi/jobs/{job}")
    r = ann.post(f"/dispatch/districts/fangzi/jobs/{job}/retry", data={"csrf_token": token})
    again = job_id_of(r)
    state = wait_for(ann, again, ended, timeout=120)
    assert state["status"] == "succeeded", state
    assert _job(app, again).retry_of == job
