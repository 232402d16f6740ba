"""docusaurus tree: lessons.unlisted (served, never recommended) and lessons.prerequisite_notes (free text)

Revision ID: 0005_docusaurus_tree
Revises: 0005_route_history
Create Date: 2026-11-29
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0005_docusaurus_tree'
down_revision = '0005_route_history'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('lessons') as batch:
        batch.add_column(sa.Column('unlisted', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column('prerequisite_notes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                                   server_default='[]', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('lessons') as batch:
        batch.drop_column('prerequisite_notes')
        batch.drop_column('unlisted')
