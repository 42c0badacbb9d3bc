"""the crew's records of its visits: visit records, booking outcomes, walk-ins, applied
record ids

Revision ID: 77eb371616b7
Revises: a9d4c2e7f1b3
Create Date: 2026-12-07 20:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "77eb371616b7"
down_revision = "a9d4c2e7f1b3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "visit_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("arrival", sa.Integer(), nullable=True),
        sa.Column("departure", sa.Integer(), nullable=True),
        sa.Column("turned_away", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"]),
        sa.ForeignKeyConstraint(["district_id"], ["districts.id"]),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("visit_id"),
    )
    op.create_index("ix_visit_records_district_id", "visit_records", ["district_id"])
    op.create_table(
        "booking_outcomes",
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"]),
        sa.ForeignKeyConstraint(["record_id"], ["visit_records.id"]),
        sa.PrimaryKeyConstraint("booking_id"),
    )
    op.create_index("ix_booking_outcomes_record_id", "booking_outcomes", ["record_id"])
    op.create_table(
        "walk_ins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("service_code", sa.String(length=40), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=True),
        sa.ForeignKeyConstraint(["record_id"], ["visit_records.id"]),
        sa.ForeignKeyConstraint(
            ["district_id", "service_code"],
            ["services.district_id", "services.code"],
            name="fk_walk_ins_service",
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_walk_ins_record_id", "walk_ins", ["record_id"])
    op.create_table(
        "applied_records",
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["visit_records.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("client_id"),
    )
    op.create_index("ix_applied_records_record_id", "applied_records", ["record_id"])


def downgrade():
    op.drop_index("ix_applied_records_record_id", table_name="applied_records")
    op.drop_table("applied_records")
    op.drop_index("ix_walk_ins_record_id", table_name="walk_ins")
    op.drop_table("walk_ins")
    op.drop_index("ix_booking_outcomes_record_id", table_name="booking_outcomes")
    op.drop_table("booking_outcomes")
    op.drop_index("ix_visit_records_district_id", table_name="visit_records")
    op.drop_table("visit_records")
