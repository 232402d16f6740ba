"""A no-op `bookctl embed` is answered from the database alone, and says exactly what the full run says."""

from __future__ import annotations

import json
import subprocess

from sqlalchemy import create_engine, text

from bookctl.config import load_settings
from bookctl.curriculum import book_slug
from bookctl.llm.embedders import embedder_name, make_embedder
from bookctl.pipeline.embed import embed_book
from bookctl.pipeline.embed_quick import try_noop_embed
from bookctl.runtime import Runtime
from tests.conftest import bookctl_executable


def _settings(ws, **env):
    import os

    saved = dict(os.environ)
    os.environ.update(ws.env)
    os.environ.update(env)
    try:
        return load_settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _full(ws, **env) -> dict:
    settings = _settings(ws, **env)
    runtime = Runtime.open(settings)
    try:
        return embed_book(runtime, book_slug(settings.book_dir), make_embedder(settings),
                          chunk_tokens=settings.chunk_tokens).as_dict()
    finally:
        runtime.close()


def _quick(ws, **env) -> dict | None:
    settings = _settings(ws, **env)
    return try_noop_embed(settings, embedder_name(settings), book_slug(settings.book_dir))


def test_noop_embed_matches_the_full_run_and_imports_nothing_heavy(embed_ws, fake_openai):
    assert _quick(embed_ws) is None  # nothing embedded yet
    first = embed_ws.run("embed", "--json")
    assert first.code == 0, first.stderr
    quick = _quick(embed_ws)
    assert quick is not None and quick["chunks"] == first.json["chunks"] > 19
    calls = len(fake_openai.calls_to("/v1/embeddings"))
    assert quick == _full(embed_ws)  # the full path, run for real, finds the same nothing to do
    assert len(fake_openai.calls_to("/v1/embeddings")) == calls

    # the CLI answers it before Typer, SQLAlchemy, numpy or tiktoken are imported
    probe = ("import sys; from bookctl.cli import main; main(['embed', '--json']); "
             "sys.stderr.write(repr(sorted(m for m in ('typer', 'sqlalchemy', 'numpy', 'tiktoken', 'yaml') if m in sys.modules)))")
    done = subprocess.run([bookctl_executable()[0], "-c", probe], env=embed_ws.subprocess_env(), capture_output=True,
                          text=True, timeout=60, cwd=embed_ws.root)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == quick
    assert done.stderr.strip().endswith("[]"), done.stderr


def test_anything_to_do_falls_through_to_the_full_run(embed_ws):
    assert embed_ws.run("embed", "--json").code == 0
    assert _quick(embed_ws) is not None
    # another bound, another model: not a no-op (the full run would re-chunk or re-embed)
    assert _quick(embed_ws, BOOKCTL_CHUNK_TOKENS="400") is None
    assert _quick(embed_ws, BOOKCTL_EMBEDDINGS="openai:text-embedding-3-large") is None
    # an edited lesson, synced: its content hash no longer matches its chunks' source
    lesson = next(embed_ws.book.rglob("02-lesson-embodiment-hypothesis.md"))
    lesson.write_text(lesson.read_text() + "\nOne more sentence about zorblax walkers.\n")
    assert embed_ws.run("sync", "--json").code == 0
    assert _quick(embed_ws) is None
    edited = embed_ws.run("embed", "--json").json
    assert edited["changed"] == 1
    assert _quick(embed_ws) is not None
    # chunks left on a lesson that is no longer written: the full run must delete them
    url = embed_ws.env.get("BOOKCTL_DATABASE_URL") or f"sqlite:///{embed_ws.root / '.bookctl' / 'bookctl.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE lessons SET status = 'planned' WHERE slug LIKE '%embodiment-hypothesis'"))
    engine.dispose()
    assert _quick(embed_ws) is None


def test_an_embed_leaves_the_sync_receipt_and_the_lessons_timestamps_alone(embed_ws, monkeypatch):
    """Embedding is not an edit: after an embed (that writes chunks and vector ids), the next sync is still
    answered from its receipt, and no lesson's updated_at moved (the content API's freshness check reads it)."""
    assert embed_ws.run("sync", "--json").code == 0  # the receipt, refreshed after the first sync's writes
    url = embed_ws.env.get("BOOKCTL_DATABASE_URL") or f"sqlite:///{embed_ws.root / '.bookctl' / 'bookctl.db'}"
    engine = create_engine(url)
    stamps = "SELECT slug, updated_at, vector_ids FROM lessons ORDER BY slug"
    with engine.connect() as conn:
        before = conn.execute(text(stamps)).all()
    embedded = embed_ws.run("embed", "--json")
    assert embedded.code == 0 and embedded.json["embedded"] > 0, embedded.stderr
    with engine.connect() as conn:
        after = conn.execute(text(stamps)).all()
    engine.dispose()
    assert [r[:2] for r in after] == [r[:2] for r in before]
    assert [r[2] for r in after] != [r[2] for r in before]  # the vector ids were written all the same
    import bookctl.curriculum

    monkeypatch.setattr(bookctl.curriculum, "parse_book", lambda *a, **k: (_ for _ in ()).throw(AssertionError("parsed")))
    again = embed_ws.run("sync", "--json")
    assert again.code == 0, again.stderr
    assert again.json["uploaded"] == 0 and again.json["updated"] == 0
