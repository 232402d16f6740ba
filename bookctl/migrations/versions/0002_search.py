"""search: chunks, embedding cache, FTS5 (SQLite) / tsvector GIN + pgvector HNSW (PostgreSQL)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24

Dimension design: `chunks.embedding` is `vector` without a fixed dimension on PostgreSQL (float32 bytes
on SQLite); each dimension gets a partial expression HNSW index on `embedding::vector(D) WHERE dim = D`.
384 (local MiniLM) and 1536 (text-embedding-3-small / ada-002) are built here; `bookctl embed` creates
the index for any other dimension on first use. See bookctl/search/schema.py.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa
from pgvector.sqlalchemy import VECTOR

from bookctl.search.schema import (
    PREBUILT_DIMS, SQLITE_FTS_DDL, SQLITE_FTS_DROP, TSV_EXPR, TSV_INDEX, HNSW_PREFIX, hnsw_index_sql,
)

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.create_table('chunks',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('lesson_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('chunk_hash', sa.String(length=64), nullable=False),
    sa.Column('heading_path', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('token_count', sa.Integer(), nullable=False),
    sa.Column('start_offset', sa.Integer(), nullable=False),
    sa.Column('end_offset', sa.Integer(), nullable=False),
    sa.Column('source_hash', sa.String(length=64), nullable=False),
    sa.Column('model', sa.String(length=100), nullable=False),
    sa.Column('dim', sa.Integer(), nullable=False),
    sa.Column('embedding', sa.LargeBinary().with_variant(VECTOR(), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_chunks_lesson_id_lessons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chunks')),
    sa.UniqueConstraint('lesson_id', 'position', name=op.f('uq_chunks_lesson_id_position'))
    )
    with op.batch_alter_table('chunks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chunks_chunk_hash'), ['chunk_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_chunks_lesson_id'), ['lesson_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_chunks_model'), ['model'], unique=False)

    op.create_table('embedding_cache',
    sa.Column('model', sa.String(length=100), nullable=False),
    sa.Column('chunk_hash', sa.String(length=64), nullable=False),
    sa.Column('dim', sa.Integer(), nullable=False),
    sa.Column('vector', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('model', 'chunk_hash', name=op.f('pk_embedding_cache'))
    )
    if dialect == "postgresql":
        op.execute(f"CREATE INDEX {TSV_INDEX} ON chunks USING gin (({TSV_EXPR}))")
        for dim in PREBUILT_DIMS:
            op.execute(hnsw_index_sql(dim))
    elif dialect == "sqlite":
        for statement in SQLITE_FTS_DDL:
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_FTS_DROP:
            op.execute(statement)
    elif dialect == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {TSV_INDEX}")
        for dim in PREBUILT_DIMS:
            op.execute(f"DROP INDEX IF EXISTS {HNSW_PREFIX}{dim}")
    op.drop_table('embedding_cache')
    with op.batch_alter_table('chunks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chunks_model'))
        batch_op.drop_index(batch_op.f('ix_chunks_lesson_id'))
        batch_op.drop_index(batch_op.f('ix_chunks_chunk_hash'))
    op.drop_table('chunks')
