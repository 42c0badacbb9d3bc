"""plan jobs and drafts

Revision ID: c7f3a9d2b614
Revises: 6ab88ca63a47
Create Date: 2026-11-28 12:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c7f3a9d2b614'
down_revision = '6ab88ca63a47'
branch_labels = None
depends_on = None

ACTIVE = sa.text("status IN ('queued', 'running')")


def upgrade():
    op.create_table('plan_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('week', sa.String(length=10), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('runner', sa.String(length=10), nullable=False),
    sa.Column('rq_id', sa.String(length=60), nullable=True),
    sa.Column('worker', sa.String(length=120), nullable=True),
    sa.Column('progress', sa.JSON(), nullable=False),
    sa.Column('log', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('cancel_requested', sa.Boolean(), nullable=False),
    sa.Column('cancelled_by', sa.String(length=100), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('retry_of', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], ),
    sa.ForeignKeyConstraint(['retry_of'], ['plan_jobs.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('plan_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_jobs_district_id'), ['district_id'], unique=False)
    op.create_index('uq_plan_jobs_one_active', 'plan_jobs', ['district_id'], unique=True,
                    sqlite_where=ACTIVE, postgresql_where=ACTIVE)

    op.create_table('drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('week', sa.String(length=10), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('visits', sa.JSON(), nullable=False),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.Column('template', sa.JSON(), nullable=False),
    sa.Column('map_html', sa.Text(), nullable=False),
    sa.Column('fingerprint', sa.String(length=40), nullable=False),
    sa.Column('template_reused', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], ),
    sa.ForeignKeyConstraint(['job_id'], ['plan_jobs.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drafts_district_id'), ['district_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_drafts_week'), ['week'], unique=False)


def downgrade():
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drafts_week'))
        batch_op.drop_index(batch_op.f('ix_drafts_district_id'))
    op.drop_table('drafts')
    op.drop_index('uq_plan_jobs_one_active', table_name='plan_jobs')
    with op.batch_alter_table('plan_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_jobs_district_id'))
    op.drop_table('plan_jobs')
