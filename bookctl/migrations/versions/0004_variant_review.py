"""variant review: approve/reject state, the editor's note, and generation facts on every variant

Revision ID: 0004_variant_review
Revises: 0003
Create Date: 2026-11-29
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0004_variant_review'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('personalized_content_cache', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_status', sa.String(length=16), server_default='unreviewed', nullable=False))
        batch_op.add_column(sa.Column('reviewed_by', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('review_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('correction', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('generation_ms', sa.Integer(), nullable=True))
        batch_op.create_index('ix_personalized_content_cache_review_status', ['review_status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('personalized_content_cache', schema=None) as batch_op:
        batch_op.drop_index('ix_personalized_content_cache_review_status')
        batch_op.drop_column('generation_ms')
        batch_op.drop_column('correction')
        batch_op.drop_column('review_note')
        batch_op.drop_column('reviewed_at')
        batch_op.drop_column('reviewed_by')
        batch_op.drop_column('review_status')
