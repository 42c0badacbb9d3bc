"""visits: every_other_week flag

Revision ID: 5b1e2c7d9a10
Revises: acdecb1c22b8
Create Date: 2026-11-26 00:55:00

"""

import sqlalchemy as sa
from alembic import op

revision = "5b1e2c7d9a10"
down_revision = "acdecb1c22b8"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("visits") as batch_op:
        batch_op.add_column(
            sa.Column(
                "every_other_week", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade():
    with op.batch_alter_table("visits") as batch_op:
        batch_op.drop_column("every_other_week")
