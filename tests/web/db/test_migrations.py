"""The migration chain, run from empty, builds exactly the schema the models describe.

Branches add migrations side by side and are re-chained when merged; a migration that rebuilds
a SQLite table from a hand-written description (Alembic's `copy_from`) silently drops a column
that a migration merged before it added. Comparing the whole schema catches both."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from web.extensions import db


def test_the_migrations_build_the_schema_the_models_describe(app):
    with app.app_context(), db.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diffs == [], f"the models and the migrated database differ: {diffs}"
