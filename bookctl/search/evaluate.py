"""Retrieval quality on a labelled query set: hit@1, hit@5 and MRR (over lessons) per ranking mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from bookctl.search.query import search, validate

MODES = ("lexical", "vector", "hybrid")


def load_queries(path: Path) -> list[dict[str, str]]:
    import yaml

    items = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [{"book": str(i["book"]), "slug": str(i["slug"]), "query": str(i["query"])} for i in items]


def summarise(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks) or 1
    return {
        "queries": len(ranks),
        "hit@1": sum(1 for r in ranks if r == 1) / n,
        "hit@5": sum(1 for r in ranks if r is not None and r <= 5) / n,
        "mrr": sum(1.0 / r for r in ranks if r is not None) / n,
    }


def rank_of(session: Session, embedder: Any, query: str, slug: str, mode: str, book_id: Any = None,
            limit: int = 10) -> int | None:
    response = search(session, validate(query, limit), embedder, book_id=book_id, mode=mode)
    slugs = [h.slug for h in response.results]
    return slugs.index(slug) + 1 if slug in slugs else None
