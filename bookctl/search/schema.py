"""Search schema pieces shared by the search code, the migration and alembic's env (the column type itself,
EMBEDDING_TYPE, lives in bookctl.db.base: the models never import the search package).

Dimensions vary by model (384 local MiniLM, 1536 text-embedding-3-small, ...). On PostgreSQL the
`chunks.embedding` column is an untyped-dimension `vector`; HNSW needs a fixed dimension, so each
dimension gets a partial expression index `USING hnsw ((embedding::vector(D)) vector_cosine_ops)
WHERE dim = D` (384 and 1536 made by the migration, any other created on first use by `bookctl embed`).
Queries cast the same way and filter `dim = D`, so the planner uses the index. One table serves every
model; a model change re-embeds into the same rows.

Objects that exist on one dialect only (FTS5 virtual table + its shadow tables on SQLite; HNSW and GIN
expression indexes on PostgreSQL) are not in the ORM metadata; `include_object` hides them from
alembic's autogenerate/compare so models and migrations stay in agreement on both dialects.
"""

from __future__ import annotations

FTS_TABLE = "chunks_fts"
TSV_INDEX = "ix_chunks_tsv"
HNSW_PREFIX = "ix_chunks_hnsw_"
PREBUILT_DIMS = (384, 1536)
TS_CONFIG = "english"
TSV_EXPR = f"to_tsvector('{TS_CONFIG}', coalesce(heading_path, '') || ' ' || text)"


def hnsw_index_sql(dim: int) -> str:
    dim = int(dim)
    return (f"CREATE INDEX IF NOT EXISTS {HNSW_PREFIX}{dim} ON chunks USING hnsw "
            f"((embedding::vector({dim})) vector_cosine_ops) WHERE dim = {dim}")


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """For alembic: ignore the dialect-only search objects (see module docstring)."""
    if name is None:
        return True
    if type_ == "table" and (name == FTS_TABLE or name.startswith(FTS_TABLE + "_")):
        return False
    if type_ == "index" and (name == TSV_INDEX or name.startswith(HNSW_PREFIX)):
        return False
    return True


SQLITE_FTS_DDL = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(chunk_id UNINDEXED, heading_path, text, "
    "tokenize='porter unicode61')",
    f"CREATE TRIGGER IF NOT EXISTS chunks_fts_ai AFTER INSERT ON chunks BEGIN "
    f"INSERT INTO {FTS_TABLE}(chunk_id, heading_path, text) VALUES (new.id, new.heading_path, new.text); END",
    f"CREATE TRIGGER IF NOT EXISTS chunks_fts_ad AFTER DELETE ON chunks BEGIN "
    f"DELETE FROM {FTS_TABLE} WHERE chunk_id = old.id; END",
    f"CREATE TRIGGER IF NOT EXISTS chunks_fts_au AFTER UPDATE OF heading_path, text ON chunks BEGIN "
    f"DELETE FROM {FTS_TABLE} WHERE chunk_id = old.id; "
    f"INSERT INTO {FTS_TABLE}(chunk_id, heading_path, text) VALUES (new.id, new.heading_path, new.text); END",
]
SQLITE_FTS_DROP = ["DROP TRIGGER IF EXISTS chunks_fts_au", "DROP TRIGGER IF EXISTS chunks_fts_ad",
                   "DROP TRIGGER IF EXISTS chunks_fts_ai", f"DROP TABLE IF EXISTS {FTS_TABLE}"]
