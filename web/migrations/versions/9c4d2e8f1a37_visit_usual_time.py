"""visits: usual date and times of a visit the calendar moved

Revision ID: 9c4d2e8f1a37
Revises: 5b1e2c7d9a10
Create Date: 2026-11-28 09:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "9c4d2e8f1a37"
down_revision = "5b1e2c7d9a10"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("visits") as batch_op:
        batch_op.add_column(sa.Column("usual_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("usual_start", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("usual_end", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("visits") as batch_op:
        batch_op.drop_column("usual_end")
        batch_op.drop_column("usual_start")
        batch_op.drop_column("usual_date")
