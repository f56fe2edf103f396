"""datasets

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('datasets',
    sa.Column('owner_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('n_rows', sa.Integer(), nullable=False),
    sa.Column('sample_shape', sa.JSON(), nullable=False),
    sa.Column('target_column', sa.String(length=200), nullable=True),
    sa.Column('label_shape', sa.JSON(), nullable=False),
    sa.Column('label_type', sa.String(length=16), nullable=False),
    sa.Column('num_labels', sa.Integer(), nullable=True),
    sa.Column('label_min', sa.Double(), nullable=True),
    sa.Column('label_max', sa.Double(), nullable=True),
    sa.Column('classes', sa.JSON(), nullable=True),
    sa.Column('class_counts', sa.JSON(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_datasets_owner_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_datasets'))
    )
    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.create_index('ix_datasets_owner_created', ['owner_id', 'created_at', 'id'], unique=False)

    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dataset_id', sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f('ix_jobs_dataset_id'), ['dataset_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_jobs_dataset_id_datasets'), 'datasets', ['dataset_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_jobs_dataset_id_datasets'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_jobs_dataset_id'))
        batch_op.drop_column('dataset_id')

    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.drop_index('ix_datasets_owner_created')

    op.drop_table('datasets')
