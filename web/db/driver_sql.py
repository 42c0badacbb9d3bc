"""Hot statements sent straight to the database driver on PostgreSQL.

The booking path (book, cancel, move) and the notice it writes run a handful of small,
fixed statements per request. SQLAlchemy's execution context and result objects cost more
than psycopg itself does for them, so on PostgreSQL `run` compiles each statement once and
hands it to psycopg; elsewhere it is plain `conn.execute`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import CompoundSelect, Connection, Dialect, Select, TextClause
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.dml import UpdateBase

Statement = TextClause | Select[Any] | CompoundSelect[Any] | UpdateBase
"""A statement `run` takes: SQL text, a select (a UNION too), or an insert, update or delete."""


@functools.lru_cache(maxsize=64)  # a few statements per engine (tests make many)
def driver_sql(stmt: Statement, dialect: Dialect) -> tuple[str, dict[str, Any]]:
    """`stmt` compiled once for `dialect`: its SQL text and the values of its own literals."""
    compiled = stmt.compile(dialect=dialect)
    return compiled.string, dict(compiled.params)


def run(conn: Connection, stmt: Statement, params: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
    """Execute one of the hot path's statements in the connection's transaction; its rows.

    On PostgreSQL the statement goes straight to psycopg, compiled once (`driver_sql`), and
    the rows are psycopg's tuples: the columns these statements read are plain integers, text,
    dates and timestamps, which psycopg returns as SQLAlchemy would. A driver error is raised
    as SQLAlchemy's (`IntegrityError` for a unique key), as `conn.execute` would, and the
    engine's `before_/after_cursor_execute` listeners, if any, see the statement (without an
    execution context). Elsewhere it is `conn.execute`."""
    if conn.dialect.name != "postgresql":
        return conn.execute(stmt, params).all()
    sql, defaults = driver_sql(stmt, conn.dialect)
    values = {**defaults, **params} if defaults else params
    raw = conn.connection.dbapi_connection
    dbapi = conn.dialect.loaded_dbapi
    events = conn._has_events or conn.engine._has_events
    try:
        with raw.cursor() as cursor:  # type: ignore[union-attr]
            if events:  # instrumentation and the tests' statement counts see these too
                conn.dispatch.before_cursor_execute(conn, cursor, sql, values, None, False)
            cursor.execute(sql, values)
            if events:
                conn.dispatch.after_cursor_execute(conn, cursor, sql, values, None, False)
            # `rownumber` is None without rows to fetch; `description` would build every column
            return cursor.fetchall() if cursor.rownumber is not None else []
    except dbapi.Error as exc:
        raise DBAPIError.instance(sql, values, exc, dbapi.Error) from exc
