"""The done-means walk-through over the API's /mcp mount on PostgreSQL (pgvector search, upsert progress)."""

from __future__ import annotations

import shutil

import anyio
import httpx
import pytest

from tests.conftest import FIXTURE_BOOK, create_pg_database, make_workspace
from tests.live import LiveServer
from tests.mcp_book.conftest import SECRET, auth, http_session, new_learner
from tests.mcp_book.test_serve import check_done_means, done_means


@pytest.mark.postgres
def test_done_means_on_postgresql(request, tmp_path, llm, embedder):
    from bookctl.api.app import create_app
    from bookctl.config import load_settings
    from bookctl.runtime import Runtime
    from tests.search.evalkit import open_embedded

    url = create_pg_database(request)
    shutil.copytree(FIXTURE_BOOK, tmp_path / "book", ignore=shutil.ignore_patterns("contract"))
    ws = make_workspace(tmp_path / "ws", tmp_path / "book", url)
    from bookctl.db.engine import make_engine
    from bookctl.db.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine, url)
    engine.dispose()
    first, _book_id, _ = open_embedded(ws)
    first.close()
    runtime = Runtime.open(load_settings({**ws.env, "BOOKCTL_SECRET_KEY": SECRET, "OPENAI_BASE_URL": llm.base_url,
                                          "OPENAI_API_KEY": "test-key"}))
    try:
        with LiveServer(create_app(runtime, embedder=embedder)) as server:
            token = new_learner(server.url)

            async def go():
                async with http_session(server.url + "/mcp", token) as s:
                    return await done_means(s)

            out = anyio.run(go)
            check_done_means(out, server.url)
            mine = httpx.get(f"{server.url}/api/progress", headers=auth(token)).json()
            assert out["progress"].structured_content == mine
    finally:
        runtime.close()
