"""visits and bookings: cancellation by a disruption (when, why) — kept, never deleted

Revision ID: d4e7a1c9b2f0
Revises: e5a7c3f19b42
Create Date: 2026-11-28 12:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "d4e7a1c9b2f0"
down_revision = "e5a7c3f19b42"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("visits") as batch_op:
        batch_op.add_column(sa.Column("cancelled_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("cancel_reason", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("cancel_note", sa.String(length=200), nullable=True))
    with op.batch_alter_table("bookings") as batch_op:
        batch_op.add_column(sa.Column("cancel_reason", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("cancel_note", sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table("bookings") as batch_op:
        batch_op.drop_column("cancel_note")
        batch_op.drop_column("cancel_reason")
    with op.batch_alter_table("visits") as batch_op:
        batch_op.drop_column("cancel_note")
        batch_op.drop_column("cancel_reason")
        batch_op.drop_column("cancelled_at")
