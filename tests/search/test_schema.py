"""Migration 0002 agrees with the ORM on both dialects; FTS follows chunk inserts/deletes (cascades too)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from bookctl.db.base import Base
from bookctl.db.engine import make_engine
from bookctl.search.schema import include_object

SEARCH_TABLES = {"chunks", "embedding_cache"}


def _touches_search(diff) -> bool:
    flat = diff if isinstance(diff, tuple) else diff[0]
    return any(getattr(x, "name", None) in SEARCH_TABLES or getattr(getattr(x, "table", None), "name", None)
               in SEARCH_TABLES or x in SEARCH_TABLES for x in flat if not isinstance(x, (dict, list)))


def test_models_and_migration_agree(migrated_db_url):
    engine = make_engine(migrated_db_url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include_object})
        diffs = [d for d in compare_metadata(ctx, Base.metadata) if _touches_search(d)]
    engine.dispose()
    assert diffs == []


def test_sqlite_fts_follows_chunks(tmp_path):
    from bookctl.db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'x.db'}"
    engine = make_engine(url)
    upgrade(engine, url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO books (id, slug, title, created_at, updated_at) VALUES "
                          "('b1', 'b', 'B', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO lessons (id, book_id, number, position, title, slug, type, status, vector_ids, tags, "
                          "prerequisites, created_at, updated_at) VALUES ('l1', 'b1', 1, 0, 'L', 'l', 'lesson', 'written', "
                          "'[]', '[]', '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO chunks VALUES ('c1', 'l1', 0, 'h', 'L', 'robots learn with bodies', 4, 0, 1, 's', "
                          "'m', 2, x'0000', CURRENT_TIMESTAMP)"))
        assert conn.execute(text("SELECT chunk_id FROM chunks_fts WHERE chunks_fts MATCH 'robot'")).scalars().all() == ["c1"]
        conn.execute(text("DELETE FROM books"))  # cascades to lessons, then chunks, then the FTS rows
        assert conn.execute(text("SELECT count(*) FROM chunks_fts")).scalar() == 0
    engine.dispose()
