"""`bookctl embed`: chunk written lessons (from the object store: the canonical synced body) and embed
only new or changed chunks.

- A lesson is up to date when all its chunks were cut from its current `content_hash` with the current
  chunker, embedded by the current model. Others are re-chunked; only chunk texts missing from the
  embedding cache (model, chunk hash) are sent to the embedder; identical text is embedded once.
- Chunks of removed, retired or un-written lessons are deleted; lessons deleted by sync cascade.
- Crash safety: work is committed per group of lessons (cache rows + the lessons' chunk sets replaced in
  one transaction). A run killed half-way leaves whole groups done and the rest untouched; the re-run
  skips what is done (and reuses any cached vectors), so there are no duplicates and no orphans.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bookctl.db import models as m
from bookctl.llm.embedders import Embedder, plan_batches
from bookctl.pipeline.chunk import Chunk, Chunker
from bookctl.pipeline.chunk_version import CHUNKER_VERSION, source_marker
from bookctl.search.index import ensure_vector_index, from_blob, to_blob, to_db

if TYPE_CHECKING:
    from bookctl.runtime import Runtime

Progress = Callable[..., None]  # (lessons done, lessons to do, chunks=chunks so far)


@dataclass
class EmbedResult:
    book: str
    model: str
    lessons: int = 0  # written lessons considered
    changed: int = 0  # lessons re-chunked this run
    chunks: int = 0  # chunks in the index for this book after the run (or planned, on --dry-run)
    embedded: int = 0  # chunk texts sent to the embedder
    skipped: int = 0  # chunks not embedded: unchanged lessons, or vector found in the cache
    deleted: int = 0  # chunk rows removed (edited or removed lessons, model change)
    requests: int = 0  # embedding requests made (or planned)
    dry_run: bool = False
    full: bool = False
    chunker: str = CHUNKER_VERSION
    plan: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def chunk_id(lesson_id: Any, chunk_hash: str, occurrence: int) -> str:
    return hashlib.sha256(f"{lesson_id}\0{chunk_hash}\0{occurrence}".encode()).hexdigest()


def _group_size(embedder: Embedder) -> int:  # also used by pipeline/plan_estimate.py
    inputs = getattr(embedder, "max_inputs", 32)
    return max(1, inputs * max(1, getattr(embedder, "concurrency", 1)))


def embed_book(runtime: "Runtime", book_slug: str, embedder: Embedder, *, full: bool = False, dry_run: bool = False,
               chunk_tokens: int = 500, on_progress: Progress | None = None,
               after_group: Callable[[int], None] | None = None) -> EmbedResult:
    from bookctl.pipeline.lock import exclusive

    if dry_run:
        return _run(runtime, book_slug, embedder, full, True, chunk_tokens, on_progress, after_group)
    with exclusive(runtime.engine, "embed", runtime.settings.lock_timeout):
        return _run(runtime, book_slug, embedder, full, False, chunk_tokens, on_progress, after_group)


def _run(runtime: "Runtime", book_slug: str, embedder: Embedder, full: bool, dry_run: bool, chunk_tokens: int,
         on_progress: Progress | None, after_group: Callable[[int], None] | None) -> EmbedResult:
    from bookctl.pipeline.lock import exclusive

    result = EmbedResult(book=book_slug, model=embedder.name, dry_run=dry_run, full=full)
    chunker = Chunker(max_tokens=chunk_tokens)
    requests_before = getattr(getattr(embedder, "stats", None), "requests", 0)
    # Rows and bodies are read as one snapshot while no sync runs: a sync commits new rows and then deletes
    # the objects the old rows named, so a body fetched after a row read outside the lock may be gone.
    # Embedding itself (the slow part) runs after the lock is released.
    with exclusive(runtime.engine, "sync", runtime.settings.lock_timeout):
        lessons, state = _snapshot(runtime, book_slug, dry_run, result)
        todo, unchanged_chunks = [], 0
        for lesson in lessons:
            count, sources, models_ = state.get(lesson.id, (0, set(), set()))
            if not full and count and sources == {source_marker(lesson.content_hash, chunk_tokens)} \
                    and models_ == {embedder.name}:
                unchanged_chunks += count
            else:
                todo.append(lesson)
        bodies = {lesson.id: runtime.store.get(lesson.bucket_path) for lesson in todo}
    result.changed = len(todo)
    result.skipped = unchanged_chunks
    result.chunks = unchanged_chunks

    if dry_run:
        group: list[tuple[m.Lesson, list[Chunk]]] = []
        pending = 0
        for lesson in todo:
            body = bodies.pop(lesson.id).decode("utf-8", errors="replace")
            group.append((lesson, chunker.chunk(body, lesson.title)))
            pending += len(group[-1][1])
            if pending >= _group_size(embedder):
                _flush(runtime, group, embedder, full, dry_run, chunk_tokens, result)
                group, pending = [], 0
        if group:
            _flush(runtime, group, embedder, full, dry_run, chunk_tokens, result)
        return result
    _embed_todo(runtime, todo, bodies, chunker, embedder, full, chunk_tokens, result, on_progress, after_group)
    result.requests = getattr(getattr(embedder, "stats", None), "requests", 0) - requests_before
    return result


def _snapshot(runtime: "Runtime", book_slug: str, dry_run: bool, result: EmbedResult):
    """The book's written lessons and their chunk state; chunks of lessons no longer live are deleted."""
    from bookctl.errors import NotFoundError

    with runtime.session() as session:
        book = session.scalar(select(m.Book).where(m.Book.slug == book_slug))
        if book is None:
            raise NotFoundError(f"book {book_slug!r} is not in the database: run `bookctl sync` first")
        # plain rows with the columns embed reads, not ORM objects: an edit to one lesson of a thousand should
        # not build a thousand of them
        lessons = list(session.execute(
            select(m.Lesson.id, m.Lesson.slug, m.Lesson.title, m.Lesson.content_hash, m.Lesson.bucket_path)
            .where(m.Lesson.book_id == book.id, m.Lesson.status == "written",
                   m.Lesson.removed_at.is_(None), m.Lesson.bucket_path.is_not(None))
            .order_by(m.Lesson.position)
        ))
        result.lessons = len(lessons)
        live = {lesson.id for lesson in lessons}
        state: dict[Any, tuple[int, set[str], set[str]]] = {}
        for lesson_id, count, sources, models_ in _chunk_state(session, book.id):
            state[lesson_id] = (count, sources, models_)
        dead_ids = [lid for lid in state if lid not in live]
        if dead_ids:
            dead = session.scalar(select(func.count()).select_from(m.Chunk).where(m.Chunk.lesson_id.in_(dead_ids)))
            result.deleted += int(dead or 0)
            if not dry_run:
                session.execute(delete(m.Chunk).where(m.Chunk.lesson_id.in_(dead_ids)))
    return lessons, state


def _embed_todo(runtime: "Runtime", todo: list[m.Lesson], bodies: dict[Any, bytes], chunker: Chunker,
                embedder: Embedder, full: bool,
                chunk_tokens: int, result: EmbedResult, on_progress: Progress | None,
                after_group: Callable[[int], None] | None) -> None:
    """Chunk on this thread while a worker thread embeds, then write each group as its vectors arrive.

    The worker is one thread: the model (or the HTTP client's own pool) already uses the cores, and numpy,
    tokenizers and sockets release the GIL, so reading, chunking and writing overlap with the embedding.
    Groups are written in order, one transaction each, exactly as they were when this was sequential.
    """
    from concurrent.futures import ThreadPoolExecutor

    limit = _group_size(embedder)
    planned: set[str] = set()  # chunk hashes a group before this one will embed: embed identical text once
    fresh: dict[str, bytes] = {}  # vectors embedded this run, for groups that share their text
    counts = {"chunks": 0, "done": 0}
    lock = threading.Lock()

    def report(added: int) -> None:
        if on_progress is None:
            return
        with lock:
            counts["done"] += added
            done, total = counts["done"], counts["chunks"]
        on_progress(done, total, lessons=written)  # chunks embedded of those chunked so far

    def embed_group(texts: list[str], skipped: int) -> list:
        report(skipped)
        if not texts:
            return []
        seen = [0]

        def chunk_done(done: int, _total: int) -> None:
            report(done - seen[0])
            seen[0] = done

        return _call_embed(embedder, texts, chunk_done if on_progress is not None else None)

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bookctl-embed")
    inflight: list[tuple[list[tuple[m.Lesson, list[Chunk]]], dict[str, bytes], list[str], Any]] = []
    written = 0

    def write_oldest() -> None:
        nonlocal written
        group, cached, missing, future = inflight.pop(0)
        vectors = future.result()
        for h, vec in zip(missing, vectors):
            fresh[h] = to_blob(vec)
        _write_group(runtime, group, embedder, chunk_tokens, result, cached, missing, vectors, fresh)
        written += len(group)
        if after_group:
            after_group(written)

    try:
        group: list[tuple[m.Lesson, list[Chunk]]] = []
        pending = 0
        for n, lesson in enumerate(todo, start=1):
            body = bodies.pop(lesson.id).decode("utf-8", errors="replace")  # read in the snapshot
            group.append((lesson, chunker.chunk(body, lesson.title)))
            pending += len(group[-1][1])
            with lock:
                counts["chunks"] += len(group[-1][1])
            if pending >= limit or n == len(todo):
                cached, missing = _lookup(runtime, group, embedder, full, planned)
                planned.update(missing)
                texts = _texts(group)
                inflight.append((group, cached, missing, pool.submit(
                    embed_group, [texts[h] for h in missing], pending - len(missing))))
                group, pending = [], 0
            while inflight and inflight[0][3].done():  # write what is ready, keep chunking otherwise
                write_oldest()
        while inflight:
            write_oldest()
    finally:
        for *_rest, future in inflight:
            future.cancel()
        pool.shutdown(wait=True)


def _call_embed(embedder: Embedder, texts: list[str], on_progress: Progress | None) -> list:
    """embedder.embed, with per-chunk progress where the embedder reports it (the protocol does not require it)."""
    if on_progress is not None and getattr(embedder, "reports_progress", False):
        return embedder.embed(texts, on_progress=on_progress)  # type: ignore[call-arg]
    vectors = embedder.embed(texts)
    if on_progress is not None:
        on_progress(len(texts), len(texts))
    return vectors


def _texts(group: list[tuple[m.Lesson, list[Chunk]]]) -> dict[str, str]:
    texts: dict[str, str] = {}
    for _lesson, chunks in group:
        for c in chunks:
            texts.setdefault(c.chunk_hash, c.embed_text)
    return texts


def _lookup(runtime: "Runtime", group: list[tuple[m.Lesson, list[Chunk]]], embedder: Embedder, full: bool,
            planned: set[str]) -> tuple[dict[str, bytes], list[str]]:
    """(cached vectors of this group's texts, hashes to embed: neither cached nor embedded by an earlier group)."""
    texts = _texts(group)
    cached: dict[str, bytes] = {}
    if not full:
        with runtime.session() as session:
            cached = _cached_vectors(session, embedder.name, list(texts))
    return cached, [h for h in texts if h not in cached and h not in planned]


def _cached_vectors(session: Session, model: str, hashes: list[str]) -> dict[str, bytes]:
    """The embedding cache's vectors of these chunk hashes for this model (500 hashes a query)."""
    cached: dict[str, bytes] = {}
    for start in range(0, len(hashes), 500):
        for h, blob in session.execute(
            select(m.EmbeddingCache.chunk_hash, m.EmbeddingCache.vector).where(
                m.EmbeddingCache.model == model, m.EmbeddingCache.chunk_hash.in_(hashes[start:start + 500]))
        ):
            cached[h] = blob
    return cached


def _cache_vector(session: Session, model: str, chunk_hash: str, vector: list, blob: bytes) -> None:
    """Store one embedded vector in the cache (replacing a row for the same model and text)."""
    row = session.get(m.EmbeddingCache, (model, chunk_hash))
    if row is None:
        session.add(m.EmbeddingCache(model=model, chunk_hash=chunk_hash, dim=len(vector), vector=blob))
    else:
        row.vector, row.dim = blob, len(vector)


def _write_group(runtime: "Runtime", group: list[tuple[m.Lesson, list[Chunk]]], embedder: Embedder,
                 chunk_tokens: int, result: EmbedResult, cached: dict[str, bytes], missing: list[str],
                 vectors: list, fresh: dict[str, bytes]) -> None:
    """Store this group's new vectors in the cache and replace its lessons' chunks, in one transaction."""
    texts = _texts(group)
    total = sum(len(chunks) for _, chunks in group)
    result.embedded += len(missing)
    result.skipped += total - len(missing)
    result.chunks += total
    with runtime.session() as session:
        dialect = session.get_bind().dialect.name
        blobs = {**cached}
        for h in texts:
            if h not in blobs and h in fresh:
                blobs[h] = fresh[h]
        for h, vec in zip(missing, vectors):
            _cache_vector(session, embedder.name, h, vec, blobs[h])
        session.flush()
        _replace_chunks(session, group, embedder, chunk_tokens, result, blobs, dialect)


def _chunk_state(session: Session, book_id: Any):
    """Per lesson of the book with chunks: (lesson id, chunk count, {source marker}, {model})."""
    rows = session.execute(  # counted by the database: one row per (lesson, source, model), not per chunk
        select(m.Chunk.lesson_id, m.Chunk.source_hash, m.Chunk.model, func.count())
        .join(m.Lesson, m.Lesson.id == m.Chunk.lesson_id).where(m.Lesson.book_id == book_id)
        .group_by(m.Chunk.lesson_id, m.Chunk.source_hash, m.Chunk.model)
    ).all()
    per: dict[Any, list] = {}
    for lesson_id, source, model, count in rows:
        entry = per.setdefault(lesson_id, [0, set(), set()])
        entry[0] += count
        entry[1].add(source)
        entry[2].add(model)
    return [(lid, c, s, mo) for lid, (c, s, mo) in per.items()]


def _flush(runtime: "Runtime", group: list[tuple[m.Lesson, list[Chunk]]], embedder: Embedder, full: bool,
           dry_run: bool, chunk_tokens: int, result: EmbedResult) -> None:
    """Embed what the cache lacks for these lessons, then replace their chunks, in one transaction."""
    texts: dict[str, str] = {}
    tokens: dict[str, int] = {}
    for _lesson, chunks in group:
        for c in chunks:
            texts.setdefault(c.chunk_hash, c.embed_text)
            tokens.setdefault(c.chunk_hash, c.token_count)
    total = sum(len(chunks) for _, chunks in group)
    with runtime.session() as session:
        dialect = session.get_bind().dialect.name
        cached: dict[str, bytes] = {} if full else _cached_vectors(session, embedder.name, list(texts))
        missing = [h for h in texts if h not in cached]
        result.embedded += len(missing)
        result.skipped += total - len(missing)
        result.chunks += total
        old = {lesson.id: set(session.scalars(select(m.Chunk.id).where(m.Chunk.lesson_id == lesson.id)))
               for lesson, _ in group}
        if dry_run:
            limits = (getattr(embedder, "max_inputs", 32), getattr(embedder, "max_batch_tokens", 10**9))
            result.requests += len(plan_batches([tokens[h] for h in missing], *limits)) if missing else 0
            for lesson, chunks in group:
                new_ids = {chunk_id(lesson.id, c.chunk_hash, 0) for c in chunks}
                result.deleted += len(old[lesson.id] - new_ids)
                result.plan.append({"slug": lesson.slug, "chunks": len(chunks),
                                    "embed": sum(1 for c in chunks if c.chunk_hash in set(missing))})
            return
        vectors = embedder.embed([texts[h] for h in missing]) if missing else []
        for h, vec in zip(missing, vectors):
            cached[h] = to_blob(vec)
            _cache_vector(session, embedder.name, h, vec, cached[h])
        session.flush()
        _replace_chunks(session, group, embedder, chunk_tokens, result, cached, dialect)


def _replace_chunks(session: Session, group: list[tuple[m.Lesson, list[Chunk]]], embedder: Embedder,
                    chunk_tokens: int, result: EmbedResult, blobs: dict[str, bytes], dialect: str) -> None:
    # A sync may have deleted some of these lessons since the snapshot: their chunks would have no row
    # (a foreign-key error). FOR SHARE keeps the rest from being deleted until this commit (PostgreSQL;
    # SQLite has one writer at a time anyway).
    alive = set(session.scalars(select(m.Lesson.id).where(m.Lesson.id.in_([l.id for l, _ in group]))
                                .with_for_update(read=True)))
    for lesson, chunks in group:
        if lesson.id not in alive:
            continue
        old = set(session.scalars(select(m.Chunk.id).where(m.Chunk.lesson_id == lesson.id)))
        session.execute(delete(m.Chunk).where(m.Chunk.lesson_id == lesson.id))
        seen: dict[str, int] = {}
        ids = []
        for c in chunks:
            occurrence = seen.get(c.chunk_hash, 0)
            seen[c.chunk_hash] = occurrence + 1
            vec = from_blob(blobs[c.chunk_hash])
            cid = chunk_id(lesson.id, c.chunk_hash, occurrence)
            ids.append(cid)
            session.add(m.Chunk(
                id=cid, lesson_id=lesson.id, position=c.position, chunk_hash=c.chunk_hash,
                heading_path=c.heading_path, text=c.text, token_count=c.token_count, start_offset=c.start,
                end_offset=c.end, source_hash=source_marker(lesson.content_hash, chunk_tokens),
                model=embedder.name, dim=len(vec), embedding=to_db(vec, dialect),
            ))
        result.deleted += len(old - set(ids))
        # updated_at is set to itself so its onupdate does not fire: embedding is not an edit of the lesson, and
        # a bumped timestamp would void sync's no-op receipt and the content API's freshness fingerprint.
        session.execute(update(m.Lesson).where(m.Lesson.id == lesson.id)
                        .values(vector_ids=ids, updated_at=m.Lesson.updated_at))
    for dim in {len(from_blob(blobs[c.chunk_hash])) for _, chunks in group for c in chunks}:
        ensure_vector_index(session, dim)


def stage_report(session: Session, book_row: m.Book) -> dict[str, int]:
    """For `bookctl status`: embedded chunks and lessons whose chunks are stale (body changed since embed)."""
    rows = session.execute(
        select(m.Lesson.id, m.Lesson.content_hash, m.Lesson.status, m.Lesson.removed_at, m.Chunk.source_hash)
        .join(m.Chunk, m.Chunk.lesson_id == m.Lesson.id, isouter=True).where(m.Lesson.book_id == book_row.id)
    ).all()
    chunks = stale = 0
    lessons_stale: set[Any] = set()
    not_embedded: set[Any] = set()
    for lesson_id, content, status, removed, source in rows:
        if source is None:
            if status == "written" and removed is None:
                not_embedded.add(lesson_id)
            continue
        chunks += 1
        if removed is not None or status != "written" or not source.startswith(f"{(content or '')[:48]}:"):
            stale += 1
            lessons_stale.add(lesson_id)
    return {"chunks": chunks, "stale chunks": stale, "lessons not embedded": len(not_embedded),
            "lessons stale": len(lessons_stale)}


def embed_coverage_warning(session: Session, book_slug: str) -> str | None:
    """A warning when search answers from a partly embedded index (lessons never embedded, or edited since)."""
    book = session.scalar(select(m.Book).where(m.Book.slug == book_slug))
    if book is None:
        return None
    report = stage_report(session, book)
    missing, stale = report["lessons not embedded"], report["lessons stale"]
    if not missing and not stale:
        return None
    return (f"the search index is only partly embedded ({missing} lesson(s) not embedded, {stale} changed since): "
            "results may miss them; run `bookctl embed`")


def prune_cache(runtime: "Runtime") -> int:
    """Delete cached vectors that no chunk of any book uses any more (text edited away, or cut by an older
    chunker version); returns how many. The cache is shared by every book in the database, so a vector is kept
    while any chunk anywhere has its text, whatever the model: switching back to a model reuses its vectors."""
    with runtime.session() as session:
        unused = delete(m.EmbeddingCache).where(m.EmbeddingCache.chunk_hash.not_in(select(m.Chunk.chunk_hash)))
        return session.execute(unused).rowcount
