"""the schedule's owner: a draft's base version and single publish, lifted call-offs, moved
bookings' new code

Revision ID: f3c9a1d7e2b5
Revises: b3e8d1f4a2c7
Create Date: 2026-12-07 13:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "f3c9a1d7e2b5"
down_revision = "b3e8d1f4a2c7"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("drafts") as batch_op:
        # The version of its week that was current when the draft was planned (0: none yet);
        # NULL for drafts planned before this was recorded: publishing refuses them.
        batch_op.add_column(sa.Column("base_version", sa.Integer(), nullable=True))
    with op.batch_alter_table("published_weeks") as batch_op:
        batch_op.add_column(sa.Column("draft_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint("uq_published_weeks_draft", ["draft_id"])
        batch_op.create_foreign_key("fk_published_weeks_draft", "drafts", ["draft_id"], ["id"])
        batch_op.add_column(
            sa.Column("lifted", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
    with op.batch_alter_table("bookings") as batch_op:
        batch_op.add_column(sa.Column("moved_to_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_bookings_moved_to", "bookings", ["moved_to_id"], ["id"])


def downgrade():
    with op.batch_alter_table("bookings") as batch_op:
        batch_op.drop_constraint("fk_bookings_moved_to", type_="foreignkey")
        batch_op.drop_column("moved_to_id")
    with op.batch_alter_table("published_weeks") as batch_op:
        batch_op.drop_column("lifted")
        batch_op.drop_constraint("fk_published_weeks_draft", type_="foreignkey")
        batch_op.drop_constraint("uq_published_weeks_draft", type_="unique")
        batch_op.drop_column("draft_id")
    with op.batch_alter_table("drafts") as batch_op:
        batch_op.drop_column("base_version")
