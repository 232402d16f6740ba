"""`bookctl embed` + `bookctl search` end to end on the fixture book, against the fake OpenAI server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import create_engine, func, select, text

from bookctl.db import models as m

EMBODIMENT = "what-is-physical-ai/lesson-embodiment-hypothesis"


def _db(ws):
    url = ws.env.get("BOOKCTL_DATABASE_URL") or f"sqlite:///{ws.root / '.bookctl' / 'bookctl.db'}"
    return create_engine(url)


def test_embed_is_incremental_and_searchable(embed_ws, fake_openai):
    first = embed_ws.run("embed", "--json")
    assert first.code == 0, first.stderr
    data = first.json
    assert {"lessons", "chunks", "embedded", "skipped", "deleted", "requests"} <= set(data)
    assert data["lessons"] == 19 and data["chunks"] > 19
    assert data["requests"] == len(fake_openai.calls_to("/v1/embeddings")) >= 1
    assert data["embedded"] + data["skipped"] == data["chunks"]  # duplicates across lessons come from the cache

    calls = len(fake_openai.calls_to("/v1/embeddings"))
    again = embed_ws.run("embed", "--json").json
    assert again["requests"] == 0 and again["embedded"] == 0 and again["skipped"] == data["chunks"]
    assert len(fake_openai.calls_to("/v1/embeddings")) == calls

    # edit one section of one lesson: only that lesson is re-chunked, only its changed chunks embedded
    lesson = next(embed_ws.book.rglob("02-lesson-embodiment-hypothesis.md"))
    body = lesson.read_text()
    lesson.write_text(body.replace("## Morphological Computation\n",
                                   "## Morphological Computation\n\nA zorblax walker descends a ramp with no motor at all.\n", 1))
    assert embed_ws.run("sync", "--json").code == 0
    edited = embed_ws.run("embed", "--json").json
    assert edited["changed"] == 1
    assert 1 <= edited["embedded"] <= 2 and edited["requests"] == 1
    assert edited["deleted"] == edited["embedded"]
    sent = fake_openai.calls_to("/v1/embeddings")[-1].body["input"]
    assert all("zorblax walker" in t for t in sent)

    found = embed_ws.run("search", "zorblax walker", "--json").json
    assert found["mode"] == "hybrid"
    # the fake server's vectors are bag-of-words noise; the lexical side must put the new passage first
    hit = next(h for h in found["results"] if h["slug"] == EMBODIMENT)
    assert hit["lexical_rank"] == 1
    assert hit["route"].endswith("lesson-embodiment-hypothesis") and "Morphological Computation" in hit["heading_path"]
    assert "zorblax walker" in hit["passage"] and hit["score"] > 0

    status = embed_ws.run("status", "--json").json
    assert status["stages"]["embeddings"]["stale chunks"] == 0

    # the edit left the replaced chunks' vectors in the cache; --prune drops exactly those, and costs no request
    def cache_and_used() -> tuple[int, int]:
        engine = _db(embed_ws)
        with engine.connect() as conn:
            cached = conn.execute(select(func.count()).select_from(m.EmbeddingCache)).scalar_one()
            used = conn.execute(select(func.count(func.distinct(m.Chunk.chunk_hash)))).scalar_one()
        engine.dispose()
        return cached, used

    cached, used = cache_and_used()
    assert cached == used + edited["deleted"]
    pruned = embed_ws.run("embed", "--prune", "--json")
    assert pruned.code == 0, pruned.stderr
    assert pruned.json == {"pruned": edited["deleted"]} and cache_and_used() == (used, used)
    assert embed_ws.run("embed", "--json").json["requests"] == 0  # nothing in use was pruned
    assert embed_ws.run("embed", "--prune", "--json").json == {"pruned": 0}

    engine = _db(embed_ws)
    with engine.connect() as conn:
        row = conn.execute(select(m.Lesson.vector_ids).where(m.Lesson.slug == EMBODIMENT)).scalar_one()
        ids = set(conn.execute(select(m.Chunk.id).join(m.Lesson).where(m.Lesson.slug == EMBODIMENT)).scalars())
    engine.dispose()
    assert set(row) == ids and ids


def test_model_change_full_dry_run_and_removed_lessons(embed_ws, fake_openai):
    assert embed_ws.run("embed", "--json").code == 0
    plan = embed_ws.run("embed", "--json", "--dry-run", BOOKCTL_EMBEDDINGS="openai:other-model").json
    assert plan["dry_run"] and plan["changed"] == 19 and plan["embedded"] > 0 and plan["requests"] >= 1
    calls = len(fake_openai.calls_to("/v1/embeddings"))
    changed = embed_ws.run("embed", "--json", BOOKCTL_EMBEDDINGS="openai:other-model").json
    assert changed["changed"] == 19 and changed["embedded"] == plan["embedded"] and changed["requests"] == plan["requests"]
    assert len(fake_openai.calls_to("/v1/embeddings")) == calls + changed["requests"]
    engine = _db(embed_ws)
    with engine.connect() as conn:
        assert set(conn.execute(select(m.Chunk.model).distinct()).scalars()) == {"openai:other-model"}
    # back to the first model: every vector comes from the cache
    back = embed_ws.run("embed", "--json").json
    assert back["changed"] == 19 and back["requests"] == 0 and back["embedded"] == 0
    full = embed_ws.run("embed", "--json", "--full").json
    assert full["embedded"] > 0 and full["requests"] >= 1

    # a lesson removed from the book loses its chunks
    next(embed_ws.book.rglob("03-lesson-challenges-future.md")).unlink()
    assert embed_ws.run("sync", "--json").code == 0
    after = embed_ws.run("embed", "--json").json
    assert after["lessons"] == 18 and after["requests"] == 0
    with engine.connect() as conn:
        orphans = conn.execute(text("SELECT count(*) FROM chunks c LEFT JOIN lessons l ON l.id = c.lesson_id "
                                    "WHERE l.id IS NULL")).scalar()
        left = conn.execute(select(func.count()).select_from(m.Chunk).join(m.Lesson)
                            .where(m.Lesson.slug.like("%challenges-future"))).scalar()
    engine.dispose()
    assert orphans == 0 and left == 0


def test_search_before_embed_and_bad_queries(embed_ws):
    before = embed_ws.run("search", "humanoid", "--json").json
    assert before["mode"] == "titles" and "bookctl embed" in before["note"]
    assert embed_ws.run("embed", "--json").code == 0
    other = embed_ws.run("search", "robot sensors", "--json", BOOKCTL_EMBEDDINGS="openai:never-indexed").json
    assert other["mode"] == "lexical" and "lexical results only" in other["note"] and other["results"]
    filtered = embed_ws.run("search", "robot", "--json", "--type", "lab").json
    assert filtered["results"] and all(r["slug"].endswith("/lab") for r in filtered["results"])
    assert all(r["slug"].startswith("sensors-actuators") for r in
               embed_ws.run("search", "robot", "--json", "--chapter", "2").json["results"])
    for args in (["   "], ["x" * 600], ["!!!"], ["robot", "--limit", "0"], ["robot", "--type", "essay"]):
        bad = embed_ws.run("search", *args, "--json")
        assert bad.code == 2 and bad.json["error"] == "validation_error", args


@pytest.mark.slow
def test_killed_embed_resumes_without_duplicates_or_orphans(tmp_path, fixture_book, fake_openai):
    from tests.conftest import make_workspace

    ws = make_workspace(tmp_path / "ws", fixture_book)
    ws.env.update({"BOOKCTL_EMBEDDINGS": "openai:text-embedding-3-small", "OPENAI_BASE_URL": fake_openai.base_url,
                   "OPENAI_API_KEY": "k", "BOOKCTL_EMBED_BATCH_INPUTS": "8", "BOOKCTL_EMBED_CONCURRENCY": "1"})
    assert ws.run("sync", "--json").code == 0
    fake_openai.latency = 0.15
    env = ws.subprocess_env()
    env["PYTHONPATH"] = str(os.getcwd())
    proc = subprocess.Popen([sys.executable, "-m", "bookctl", "embed", "--json"], env=env, cwd=ws.root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    engine = _db(ws)
    deadline = time.monotonic() + 60
    committed = 0
    while time.monotonic() < deadline and proc.poll() is None:
        with engine.connect() as conn:
            committed = conn.execute(text("SELECT count(DISTINCT lesson_id) FROM chunks")).scalar()
        if committed >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "embed finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    fake_openai.latency = 0.0
    resumed = ws.run("embed", "--json").json
    assert 0 < resumed["changed"] < 19  # the committed groups were kept
    with engine.connect() as conn:
        per_lesson = conn.execute(text("SELECT lesson_id, count(*), count(DISTINCT position) FROM chunks GROUP BY lesson_id")).all()
        vec_ok = conn.execute(select(m.Lesson.slug, m.Lesson.vector_ids).where(m.Lesson.status == "written")).all()
        ids = set(conn.execute(select(m.Chunk.id)).scalars())
    engine.dispose()
    assert len(per_lesson) == 19 and all(n == d for _, n, d in per_lesson)
    assert set().union(*[set(v) for _, v in vec_ok]) == ids
    assert ws.run("embed", "--json").json["requests"] == 0


def test_search_degrades_to_lexical_when_the_embedder_fails(embed_ws):
    from bookctl.config import load_settings
    from bookctl.errors import UpstreamError
    from bookctl.runtime import Runtime
    from bookctl.search.query import search, validate

    assert embed_ws.run("embed", "--json").code == 0

    class Down:
        name = "openai:text-embedding-3-small"
        dim = 64

        def embed(self, texts):
            raise UpstreamError("embeddings request failed after 6 attempts: HTTP 503")

    runtime = Runtime.open(load_settings({**embed_ws.env, "BOOKCTL_DATABASE_URL": embed_ws.env.get(
        "BOOKCTL_DATABASE_URL", f"sqlite:///{embed_ws.root / '.bookctl' / 'bookctl.db'}")}), check_schema=False)
    try:
        with runtime.session() as session:
            response = search(session, validate("lidar sensor"), Down())
    finally:
        runtime.close()
    assert response.mode == "lexical" and "unavailable" in response.note and response.results
