"""published weeks: versions, the current version of each week, what publishing did to bookings

Revision ID: e7b3c1a9d5f2
Revises: d7f3a9c2b614
Create Date: 2026-11-28 12:05:00

Every week published so far becomes version 1 of itself, and current. `(district_id, week)`
stops being unique; `(district_id, week, version)` is, and `current_weeks` holds one row per
(district_id, week) naming its current version.
"""

import sqlalchemy as sa
from alembic import op

revision = "e7b3c1a9d5f2"
down_revision = "d7f3a9c2b614"
branch_labels = None
depends_on = None


def upgrade():
    # The district migration (d7f3a9c2b614) named the unique (district_id, week)
    # `uq_published_week` on both databases.
    with op.batch_alter_table("published_weeks") as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(
            sa.Column("published_by", sa.String(length=100), server_default="", nullable=False)
        )
        batch_op.drop_constraint("uq_published_week", type_="unique")
        batch_op.create_unique_constraint(
            "uq_published_week_version", ["district_id", "week", "version"]
        )
    op.create_table(
        "current_weeks",
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.String(length=10), nullable=False),
        sa.Column("published_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["district_id"], ["districts.id"]),
        sa.ForeignKeyConstraint(["published_id"], ["published_weeks.id"]),
        sa.PrimaryKeyConstraint("district_id", "week"),
        sa.UniqueConstraint("published_id"),
    )
    op.execute(
        "INSERT INTO current_weeks (district_id, week, published_id)"
        " SELECT district_id, week, id FROM published_weeks"
    )
    with op.batch_alter_table("bookings") as batch_op:
        batch_op.add_column(sa.Column("status_reason", sa.String(length=200), nullable=True))
    op.create_table(
        "booking_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("published_id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column("old_visit_id", sa.Integer(), nullable=False),
        sa.Column("old_start", sa.Integer(), nullable=False),
        sa.Column("old_end", sa.Integer(), nullable=False),
        sa.Column("new_visit_id", sa.Integer(), nullable=True),
        sa.Column("new_start", sa.Integer(), nullable=True),
        sa.Column("new_end", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"]),
        sa.ForeignKeyConstraint(["new_visit_id"], ["visits.id"]),
        sa.ForeignKeyConstraint(["old_visit_id"], ["visits.id"]),
        sa.ForeignKeyConstraint(["published_id"], ["published_weeks.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("booking_changes") as batch_op:
        batch_op.create_index("ix_booking_changes_booking_id", ["booking_id"], unique=False)
        batch_op.create_index("ix_booking_changes_published_id", ["published_id"], unique=False)


def downgrade():
    """Back to one row per week: only the current versions survive."""
    with op.batch_alter_table("booking_changes") as batch_op:
        batch_op.drop_index("ix_booking_changes_published_id")
        batch_op.drop_index("ix_booking_changes_booking_id")
    op.drop_table("booking_changes")
    with op.batch_alter_table("bookings") as batch_op:
        batch_op.drop_column("status_reason")
    old = "SELECT id FROM published_weeks WHERE id NOT IN (SELECT published_id FROM current_weeks)"
    op.execute(
        f"DELETE FROM slot_claims WHERE visit_id IN "
        f"(SELECT id FROM visits WHERE published_id IN ({old}))"
    )
    op.execute(
        f"DELETE FROM bookings WHERE visit_id IN "
        f"(SELECT id FROM visits WHERE published_id IN ({old}))"
    )
    op.execute(f"DELETE FROM visits WHERE published_id IN ({old})")
    op.execute(f"DELETE FROM published_weeks WHERE id IN ({old})")
    op.drop_table("current_weeks")
    with op.batch_alter_table("published_weeks") as batch_op:
        batch_op.drop_constraint("uq_published_week_version", type_="unique")
        batch_op.create_unique_constraint("uq_published_week", ["district_id", "week"])
        batch_op.drop_column("published_by")
        batch_op.drop_column("version")
