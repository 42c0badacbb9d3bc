"""notices: the outbox of messages to taxpayers; the language of a booking

Revision ID: e5a7c3f19b42
Revises: a32ccf3ea532
Create Date: 2026-11-29 09:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "e5a7c3f19b42"
down_revision = "a32ccf3ea532"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("bookings") as batch_op:
        batch_op.add_column(
            sa.Column("lang", sa.String(length=5), nullable=False, server_default="zh")
        )
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("lang", sa.String(length=5), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("text", sa.String(length=400), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("stop_id", sa.String(length=40), nullable=True),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("claimed_by", sa.String(length=32), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["district_id"], ["districts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("notices") as batch_op:
        batch_op.create_index("ix_notices_due", ["status", "next_attempt_at"])
        batch_op.create_index("ix_notices_kind", ["kind"])
        batch_op.create_index("ix_notices_booking_id", ["booking_id"])
        batch_op.create_index("ix_notices_stop_id", ["stop_id"])
        batch_op.create_index("ix_notices_district_id", ["district_id"])
        batch_op.create_index("ix_notices_created_at", ["created_at"])


def downgrade():
    op.drop_table("notices")
    with op.batch_alter_table("bookings") as batch_op:
        batch_op.drop_column("lang")
