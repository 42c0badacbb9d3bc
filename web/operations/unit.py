"""One unit of work: one transaction, the shared lock order, committed in one place.

Every operation runs its work through `transaction(work)`: the work gets a `Unit` (the
connection and the locks, `web.db.locks`), changes what it must, and returns its result; this
module commits it, or rolls everything back on any error, so nothing is ever half-saved. It is
the only place in the app that commits (a test keeps it so). `dry_run=True` runs the same work
and rolls it back: a preview shows exactly what the operation would do.

A `Unit` takes locks in the documented order only (district, then taxpayers, then rows) and
raises `LockOrderError` for anything else, so an operation written tomorrow cannot deadlock
against today's by taking the same locks the other way round.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from web.db import locks
from web.extensions import db

T = TypeVar("T")

DISTRICT, TAXPAYERS, ROWS = 1, 2, 3
"""Lock levels, in the order they are taken."""

RETRYABLE_STATES = ("40P01", "40001")
"""PostgreSQL deadlock and serialization failure: the transaction was rolled back whole and
may simply run again."""


class LockOrderError(RuntimeError):
    """A lock asked for out of the documented order (a programming error, never a user's)."""


@dataclass
class Unit:
    """The open transaction of one operation, and the locks it holds so far."""

    conn: Connection
    level: int = 0
    districts: dict[int, bool] = field(default_factory=dict)
    """District id -> held exclusively."""
    taxpayers: set[str] = field(default_factory=set)

    def _enter(self, level: int, what: str) -> None:
        if self.level > level:
            raise LockOrderError(f"{what} asked for after a lock of level {self.level}")
        self.level = level

    def district(self, district_id: int, *, exclusive: bool) -> None:
        """Level 1: the district's lock. Taken once per district; a shared lock is never
        raised to an exclusive one (two such transactions would wait on each other)."""
        held = self.districts.get(district_id)
        if held is not None:
            if exclusive and not held:
                raise LockOrderError(f"district {district_id} held shared, asked exclusive")
            return
        if self.districts and district_id < max(self.districts):
            raise LockOrderError("districts are locked in id order")
        self._enter(DISTRICT, "a district lock")
        locks.district(self.conn, district_id, exclusive=exclusive)
        self.districts[district_id] = exclusive

    def taxpayer_of(self, district_id: int, taxpayer_id: str) -> None:
        """Levels 1 (shared) and 2 for one taxpayer, in one round trip: the booking path."""
        if district_id in self.districts or self.taxpayers:
            self.district(district_id, exclusive=False)
            self.lock_taxpayers([taxpayer_id])
            return
        self._enter(TAXPAYERS, "a taxpayer lock")
        locks.district_shared_and_taxpayer(self.conn, district_id, taxpayer_id)
        self.districts[district_id] = False
        self.taxpayers.add(taxpayer_id)

    def lock_taxpayers(self, taxpayer_ids: Iterable[str]) -> None:
        """Level 2: the taxpayers' locks not held yet, in key order. More may be added later
        in the same transaction (a booking made meanwhile): in key order among themselves."""
        new = sorted(set(taxpayer_ids) - self.taxpayers, key=locks.taxpayer_key)
        if not new:
            return
        self._enter(TAXPAYERS, "a taxpayer lock")
        for tid in new:
            locks.taxpayer(self.conn, tid)
            self.taxpayers.add(tid)

    def rows(self) -> None:
        """Level 3: the caller is about to lock rows (`FOR UPDATE`); no more level 1 or 2."""
        self._enter(ROWS, "a row lock")
        locks.write_lock(self.conn)


def retryable(exc: DBAPIError) -> bool:
    """A unique-key conflict (someone took the place or the code first) or a PostgreSQL
    deadlock or serialization failure: rolled back whole, may run again."""
    return isinstance(exc, IntegrityError) or (
        getattr(exc.orig, "sqlstate", None) in RETRYABLE_STATES
    )


def _commit(keep_loaded: bool) -> None:
    session = db.session()
    if not keep_loaded:
        session.commit()
        return
    before = session.expire_on_commit
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = before


def discard() -> None:
    """Roll back whatever an unexpected error left in the session's transaction (the error
    page does, so the next request starts clean)."""
    db.session.rollback()


def transaction(
    work: Callable[[Unit], T],
    *,
    attempts: int = 1,
    dry_run: bool = False,
    keep_loaded: bool = False,
    retry_on: Callable[[DBAPIError], bool] = retryable,
) -> T:
    """Run `work` in one transaction and commit it (roll it back for a `dry_run`).

    Any error rolls everything back and is raised. A conflict `retry_on` accepts (by default
    a unique-key conflict or a deadlock) runs `work` again from the start, up to `attempts`
    times in all; the last one's error is raised. `keep_loaded` commits without expiring
    the loaded objects, so a reply can be built from what was just written."""
    for attempt in range(attempts):
        try:
            result = work(Unit(db.session.connection()))
            if dry_run:
                db.session.rollback()
            else:
                _commit(keep_loaded)
            return result
        except DBAPIError as exc:
            db.session.rollback()
            if attempt == attempts - 1 or not retry_on(exc):
                raise
        except BaseException:
            db.session.rollback()
            raise
    raise AssertionError("attempts must be at least 1")
