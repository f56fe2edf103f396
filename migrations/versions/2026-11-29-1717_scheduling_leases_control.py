"""scheduling, leases, checkpoints, control, cross-validation, token revocation

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 17:17:02.596324
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


STATUSES_BEFORE = ("queued", "running", "succeeded", "failed", "cancelled")
STATUSES_AFTER = (*STATUSES_BEFORE, "paused")


def _status_check(statuses: tuple[str, ...]) -> str:
    return "status IN (" + ", ".join(f"'{status}'" for status in statuses) + ")"


def upgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('woken_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('device', sa.String(length=8), nullable=False, server_default='auto'))
        batch_op.add_column(sa.Column('max_attempts', sa.Integer(), nullable=False, server_default='3'))
        batch_op.add_column(sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('checkpoint_epoch', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('run_seconds', sa.Float(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('pause_requested', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('max_runtime_s', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('idempotency_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('request_sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('kind', sa.Enum('train', 'cross_validation', name='job_kind', native_enum=False, create_constraint=True, length=24), nullable=False, server_default='train'))
        batch_op.add_column(sa.Column('parent_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('fold', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_jobs_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index('ix_jobs_status_priority', ['status', 'priority', 'queued_at'], unique=False)
        batch_op.create_index('uq_jobs_owner_idempotency_key', ['owner_id', 'idempotency_key'], unique=True)
        batch_op.create_foreign_key(batch_op.f('fk_jobs_parent_id_jobs'), 'jobs', ['parent_id'], ['id'], ondelete='CASCADE')
        batch_op.drop_constraint(batch_op.f('ck_jobs_job_status'), type_='check')
        batch_op.create_check_constraint('job_status', sa.text(_status_check(STATUSES_AFTER)))

    op.execute("UPDATE jobs SET queued_at = created_at WHERE queued_at IS NULL")
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        for column in ('priority', 'device', 'max_attempts', 'checkpoint_epoch', 'run_seconds', 'pause_requested', 'kind'):
            batch_op.alter_column(column, server_default=None)


def downgrade() -> None:
    op.execute("UPDATE jobs SET status = 'queued' WHERE status = 'paused'")
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_jobs_job_status'), type_='check')
        batch_op.create_check_constraint('job_status', sa.text(_status_check(STATUSES_BEFORE)))
        batch_op.drop_constraint(batch_op.f('ck_jobs_job_kind'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_jobs_parent_id_jobs'), type_='foreignkey')
        batch_op.drop_index('uq_jobs_owner_idempotency_key')
        batch_op.drop_index('ix_jobs_status_priority')
        batch_op.drop_index(batch_op.f('ix_jobs_parent_id'))
        for column in ('fold', 'parent_id', 'kind', 'request_sha256', 'idempotency_key', 'max_runtime_s', 'pause_requested', 'run_seconds', 'checkpoint_epoch', 'lease_expires_at', 'max_attempts', 'device', 'woken_at', 'queued_at', 'priority'):
            batch_op.drop_column(column)

    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('revoked_at')
