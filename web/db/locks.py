"""The one lock order every change to the schedule follows, and the locks themselves.

Operations on the schedule (book, move, cancel, publish, call off, door-to-door, import, plan)
meet on the same rows: a booking's visit may be called off, replaced by a new version or
shadowed by a door-to-door visit while it is being made. Each operation therefore takes its
locks in this order, and only in this order (`web.operations.unit.Unit` refuses anything else):

1. **The district.** Shared by an operation that changes one taxpayer's bookings (book,
   move, cancel): many run side by side. Exclusive by an operation that changes the district's
   timetable (publish, call off, accept or decline a door-to-door request, import): it waits
   for the bookings under way, and bookings that come later wait for it and then read what it
   did (a called-off visit, a replaced version). Other districts are not held up.
2. **Taxpayers**, in the order of their lock keys: the cap on open bookings and the no-overlap
   rule are read and decided under the taxpayer's lock.
3. **Rows** (`SELECT ... FOR UPDATE`): visits, then bookings, each in id order.

PostgreSQL: (1) is a transaction-level advisory lock on the pair (`DISTRICT_SPACE`, district
id), shared or exclusive; (2) one on a 64-bit hash of the taxpayer ID (the one-number key
space, which never meets the pairs); (3) row locks. All are released at commit or rollback.

SQLite runs one writing transaction at a time: (1) is `BEGIN IMMEDIATE`, the database's write
lock, taken before anything is read for the decision, and it covers (2) and (3).
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, text

from web.db.driver_sql import run

DISTRICT_SPACE = 0x74617876
"""First key of a district's advisory lock pair (`taxv`); the second is the district id."""

_DISTRICT_SHARED = text("SELECT pg_advisory_xact_lock_shared(:space, :district)")
_DISTRICT_EXCLUSIVE = text("SELECT pg_advisory_xact_lock(:space, :district)")
_TAXPAYER = text("SELECT pg_advisory_xact_lock(:key)")
SHARED_AND_TAXPAYER = text(
    "SELECT pg_advisory_xact_lock_shared(:space, :district), pg_advisory_xact_lock(:key)"
)
"""Levels 1 (shared) and 2 in one round trip: the booking path's locks."""


def taxpayer_key(taxpayer_id: str) -> int:
    """The taxpayer's advisory-lock key: a signed 64-bit hash of the ID."""
    digest = hashlib.blake2b(taxpayer_id.encode(), digest_size=8, person=b"taxvan-b").digest()
    return int.from_bytes(digest, "big", signed=True)


def write_lock(conn: Connection) -> None:
    """SQLite: take the database's write lock now (`BEGIN IMMEDIATE`) unless this transaction
    holds it already (it has written). Other databases: nothing."""
    if conn.dialect.name != "sqlite":
        return
    raw = conn.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def district(conn: Connection, district_id: int, *, exclusive: bool) -> None:
    """Level 1: the district's lock, shared or exclusive, until the transaction ends."""
    if conn.dialect.name == "postgresql":
        stmt = _DISTRICT_EXCLUSIVE if exclusive else _DISTRICT_SHARED
        run(conn, stmt, {"space": DISTRICT_SPACE, "district": district_id})
    else:
        write_lock(conn)


def taxpayer(conn: Connection, taxpayer_id: str) -> None:
    """Level 2: one taxpayer's lock until the transaction ends."""
    if conn.dialect.name == "postgresql":
        run(conn, _TAXPAYER, {"key": taxpayer_key(taxpayer_id)})
    else:
        write_lock(conn)


def district_shared_and_taxpayer(conn: Connection, district_id: int, taxpayer_id: str) -> None:
    """Levels 1 (shared) and 2 for one taxpayer, in one round trip on PostgreSQL."""
    if conn.dialect.name == "postgresql":
        params = {
            "space": DISTRICT_SPACE,
            "district": district_id,
            "key": taxpayer_key(taxpayer_id),
        }
        run(conn, SHARED_AND_TAXPAYER, params)
    else:
        write_lock(conn)
