"""a notice marked sent by hand: who did it; a failed plan job's error as a message

Revision ID: a9d4c2e7f1b3
Revises: f3c9a1d7e2b5
Create Date: 2026-12-07 20:05:00

"""

import sqlalchemy as sa
from alembic import op

revision = "a9d4c2e7f1b3"
down_revision = "f3c9a1d7e2b5"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("notices") as batch_op:
        # The console user who told the taxpayer themselves; NULL for one the gateway sent.
        batch_op.add_column(sa.Column("sent_by", sa.String(length=100), nullable=True))
    with op.batch_alter_table("plan_jobs") as batch_op:
        # The error as a message (template and values), shown in the reader's language.
        batch_op.add_column(sa.Column("error_message", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("plan_jobs") as batch_op:
        batch_op.drop_column("error_message")
    with op.batch_alter_table("notices") as batch_op:
        batch_op.drop_column("sent_by")
