"""Build an evaluation workspace for a book with real all-MiniLM-L6-v2 vectors (cache seeded; see warm_cache)."""

from __future__ import annotations

import os
from pathlib import Path

from bookctl.search.evaluate import MODES, load_queries, rank_of, summarise

QUERIES = Path(__file__).resolve().parent / "eval_queries.yaml"


def open_embedded(ws):
    """Sync + seed the cache + embed (local model) the workspace's book; returns (runtime, book_id, embed json)."""
    from sqlalchemy import select

    from bookctl.config import load_settings
    from bookctl.db import models as m
    from bookctl.runtime import Runtime
    from tests.search.warm_cache import seed

    assert ws.run("sync", "--json").code == 0
    saved, cwd = dict(os.environ), os.getcwd()
    os.environ.update(ws.env)
    os.chdir(ws.root)
    try:
        runtime = Runtime.open(load_settings())
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(saved)
    with runtime.session() as session:
        seed(session)
    result = ws.run("embed", "--json")
    assert result.code == 0, result.stderr
    with runtime.session() as session:
        book_id = session.scalars(select(m.Book.id)).one()
    return runtime, book_id, result.json


def evaluate(runtime, book_id, embedder, queries) -> dict[str, list[int | None]]:
    ranks: dict[str, list[int | None]] = {mode: [] for mode in MODES}
    with runtime.session() as session:
        for q in queries:
            for mode in MODES:
                ranks[mode].append(rank_of(session, embedder, q["query"], q["slug"], mode, book_id))
    return ranks


__all__ = ["QUERIES", "open_embedded", "evaluate", "load_queries", "summarise"]
