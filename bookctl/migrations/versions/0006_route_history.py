"""route history: old lesson URLs and the lesson they moved with (issue 16)

Revision ID: 0005_route_history
Revises: 0005_sync_state
Create Date: 2026-11-29
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0005_route_history'
down_revision = '0005_sync_state'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('route_history',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('book_id', sa.Uuid(), nullable=False),
    sa.Column('route', sa.String(length=500), nullable=False),
    sa.Column('lesson_id', sa.Uuid(), nullable=False),
    sa.Column('moved_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['book_id'], ['books.id'], name=op.f('fk_route_history_book_id_books'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_route_history_lesson_id_lessons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_route_history')),
    sa.UniqueConstraint('book_id', 'route', name=op.f('uq_route_history_book_id_route'))
    )
    op.create_index(op.f('ix_route_history_book_id'), 'route_history', ['book_id'], unique=False)
    op.create_index(op.f('ix_route_history_lesson_id'), 'route_history', ['lesson_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_route_history_lesson_id'), table_name='route_history')
    op.drop_index(op.f('ix_route_history_book_id'), table_name='route_history')
    op.drop_table('route_history')
