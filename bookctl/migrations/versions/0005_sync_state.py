"""sync_state: per-book store identity, interrupted-sync flag and the no-op receipt (issue 9)

Revision ID: 0005_sync_state
Revises: 0004_variant_review
Create Date: 2026-11-29
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0005_sync_state'
down_revision = '0004_variant_review'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sync_state',
    sa.Column('book_slug', sa.String(length=100), nullable=False),
    sa.Column('store_id', sa.String(length=64), nullable=False),
    sa.Column('dirty', sa.Boolean(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=True),
    sa.Column('db_state', sa.String(length=64), nullable=True),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('book_slug', name=op.f('pk_sync_state'))
    )
    with op.batch_alter_table('sync_state', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_state_fingerprint'), ['fingerprint'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sync_state', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_state_fingerprint'))
    op.drop_table('sync_state')
