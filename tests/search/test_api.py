"""POST /api/search over a real loopback server: same results as the CLI; bad input gets a clear 4xx."""

from __future__ import annotations

import os

import httpx
import pytest

from tests.api.conftest import LiveServer


@pytest.fixture
def api(embed_ws, fake_openai):
    from bookctl.api.app import create_app
    from bookctl.config import load_settings
    from bookctl.llm.embedders import make_embedder
    from bookctl.runtime import Runtime

    assert embed_ws.run("embed", "--json").code == 0
    saved = dict(os.environ)
    os.environ.update(embed_ws.env)
    cwd = os.getcwd()
    os.chdir(embed_ws.root)
    try:
        settings = load_settings({**os.environ, "BOOKCTL_SECRET_KEY": "s" * 32, "BOOKCTL_AUTH": "token"})
        runtime = Runtime.open(settings)
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(saved)
    app = create_app(runtime, embedder=make_embedder(settings))
    with LiveServer(app) as server:
        yield server, embed_ws
    runtime.close()


def test_api_search_matches_cli_and_validates(api):
    server, ws = api
    base = f"http://127.0.0.1:{server.port}"
    r = httpx.post(f"{base}/api/search", json={"query": "lidar distance sensor", "limit": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["mode"] == "hybrid" and 1 <= len(body["results"]) <= 3
    hit = body["results"][0]
    assert {"slug", "route", "title", "chapter_title", "part_title", "heading_path", "passage", "score"} <= set(hit)
    cli = ws.run("search", "lidar distance sensor", "--limit", "3", "--json").json
    assert [h["slug"] for h in cli["results"]] == [h["slug"] for h in body["results"]]

    filtered = httpx.post(f"{base}/api/search", json={"query": "robot", "filters": {"type": "lab"}}).json()
    assert filtered["results"] and all(h["slug"].endswith("/lab") for h in filtered["results"])

    for payload in ({"query": ""}, {"query": "   "}, {"query": "x" * 5000}, {"query": 12}, {"limit": 3},
                    {"query": "robot", "limit": 0}, {"query": "robot", "limit": 1000},
                    {"query": "robot", "filters": {"colour": "red"}}, {"query": "robot", "filters": {"type": "essay"}},
                    {"query": "robot", "filters": []}):
        bad = httpx.post(f"{base}/api/search", json=payload)
        assert 400 <= bad.status_code < 500, (payload, bad.status_code, bad.text)
        assert {"error", "message"} <= set(bad.json()), bad.text
    garbage = httpx.post(f"{base}/api/search", content=b"{not json", headers={"Content-Type": "application/json"})
    assert 400 <= garbage.status_code < 500
