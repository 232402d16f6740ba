"""personalization: per-user miss log (rate limit), per-user cache resets, batch jobs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('personalization_misses',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('lesson_id', sa.Uuid(), nullable=True),
    sa.Column('profile_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_personalization_misses_lesson_id_lessons'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_personalization_misses_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_personalization_misses'))
    )
    with op.batch_alter_table('personalization_misses', schema=None) as batch_op:
        batch_op.create_index('ix_personalization_misses_user_created', ['user_id', 'created_at'], unique=False)

    op.create_table('personalization_resets',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('cleared_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_personalization_resets_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_personalization_resets'))
    )
    op.create_table('personalization_batches',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('model', sa.String(length=100), nullable=False),
    sa.Column('prompt_version', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('input_file_id', sa.String(length=100), nullable=True),
    sa.Column('requests', JSON, nullable=False),
    sa.Column('result', JSON, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('collected_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_personalization_batches'))
    )


def downgrade() -> None:
    op.drop_table('personalization_batches')
    op.drop_table('personalization_resets')
    with op.batch_alter_table('personalization_misses', schema=None) as batch_op:
        batch_op.drop_index('ix_personalization_misses_user_created')
    op.drop_table('personalization_misses')
