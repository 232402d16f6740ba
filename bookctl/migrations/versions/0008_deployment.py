"""deployment: personalization claims (cross-process single flight with a renewable lease)

Revision ID: 0005_deployment
Revises: 0005_docusaurus_tree
Create Date: 2026-11-29
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

revision = '0005_deployment'
down_revision = '0005_docusaurus_tree'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('personalization_claims',
    sa.Column('claim_key', sa.String(length=64), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('claim_key', name=op.f('pk_personalization_claims'))
    )


def downgrade() -> None:
    op.drop_table('personalization_claims')
