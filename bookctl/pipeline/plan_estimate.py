"""What a planned sync will cost downstream: chunks to embed and embedding requests for the lessons whose
bodies change, and the personalized variants those changes make stale (with the regeneration estimate).

Used by `bookctl sync --dry-run --format markdown` (the CI job summary). Reads only; the chunker, the
embedding cache and the personalization estimate are the same ones `embed` and `personalize` use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from bookctl.curriculum.model import Book
from bookctl.db import models as m
from bookctl.llm.embedders import Embedder, plan_batches
from bookctl.pipeline.chunk import Chunker
from bookctl.pipeline.embed import _group_size as group_size
from bookctl.pipeline.sync import SyncResult, content_hash

if TYPE_CHECKING:
    from bookctl.runtime import Runtime


def estimate(runtime: "Runtime", book: Book, result: SyncResult, embedder: Embedder, *, chunk_tokens: int,
             llm_model: str, prices: dict[str, dict[str, float]]) -> None:
    """Fill `result.embedding` and `result.personalization` for the plan in `result`."""
    from bookctl.personalization.stale import estimate_stale

    uploading = {item["slug"] for item in result.plan if item["action"] == "upload"}
    changed = [lesson for lesson in book.all_lessons() if lesson.slug in uploading]
    chunker = Chunker(max_tokens=chunk_tokens)
    limits = (getattr(embedder, "max_inputs", 32), getattr(embedder, "max_batch_tokens", 10**9))
    # Grouped as `embed` groups lessons (requests are planned per group), so the numbers match its dry run.
    groups: list[dict[str, int]] = [{}]
    chunks = pending = 0
    for lesson in changed:
        cut = chunker.chunk(lesson.body.decode("utf-8", errors="replace"), lesson.title)
        for chunk in cut:
            groups[-1].setdefault(chunk.chunk_hash, chunk.token_count)
        chunks += len(cut)
        pending += len(cut)
        if pending >= group_size(embedder):
            groups.append({})
            pending = 0
    with runtime.session() as session:
        hashes = list({h for group in groups for h in group})
        cached: set[str] = set()
        for start in range(0, len(hashes), 500):
            cached.update(session.scalars(select(m.EmbeddingCache.chunk_hash).where(
                m.EmbeddingCache.model == embedder.name, m.EmbeddingCache.chunk_hash.in_(hashes[start:start + 500]))))
        embed = requests = 0
        for group in groups:
            missing = [tokens for h, tokens in group.items() if h not in cached]
            embed += len(missing)
            requests += len(plan_batches(missing, *limits)) if missing else 0
        result.embedding = {"model": embedder.name, "lessons": len(changed), "chunks": chunks, "embed": embed,
                            "requests": requests}
        book_row = session.scalar(select(m.Book).where(m.Book.slug == book.slug))
        rows = {} if book_row is None else {r.slug: r for r in session.scalars(
            select(m.Lesson).where(m.Lesson.book_id == book_row.id, m.Lesson.content_hash.is_not(None)))}
        # A lesson renamed in this plan keeps its row (pipeline/identity.py): find it by old slug, file or route.
        old_slug = {move["slug"]: move["old_slug"] for move in result.moved if move.get("old_slug")}
        by_source = {r.source_path: r for r in rows.values() if r.source_path}
        by_route = {r.route: r for r in rows.values() if r.route}
        new_bodies: dict[Any, bytes] = {}
        for lesson in changed:
            row = (rows.get(lesson.slug) or rows.get(old_slug.get(lesson.slug, ""))
                   or by_source.get(lesson.source.as_posix() if lesson.source else "") or by_route.get(lesson.route or ""))
            if row is not None and row.content_hash != content_hash(lesson.body):
                new_bodies[row.id] = lesson.body
        result.personalization = estimate_stale(session, book_row.id if book_row else None, new_bodies,
                                                llm_model, prices, batch=True)
