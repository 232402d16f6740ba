"""Answer a no-op `bookctl embed` from the database alone, the way a no-op `sync` is answered from its receipt.

Most embed runs (CI after every merge, an editor re-running) find every lesson embedded already. Deciding
that needs only each lesson's content hash and, per lesson, which (source marker, model) its chunks were made
from: one aggregate query with the plain driver. Only when every written lesson has chunks cut from its
current body by the current chunker and bound, embedded by the configured model, and no other lesson of
the book has chunks left, is the run a proven no-op; its result is then exactly what the full run returns.
Anything else (work to do, an unknown schema, a backend without a plain driver, any error) returns None and
the full run decides, so this can make `embed` faster but never different. numpy, tiktoken, SQLAlchemy and
the model are not imported here: they were most of a no-op's time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bookctl.config import Settings

_STATE = """
SELECT l.id, l.content_hash, l.status, l.removed_at, l.bucket_path, c.source_hash, c.model, COUNT(c.id)
FROM lessons l JOIN books b ON b.id = l.book_id LEFT JOIN chunks c ON c.lesson_id = l.id
WHERE b.slug = {mark}
GROUP BY l.id, l.content_hash, l.status, l.removed_at, l.bucket_path, c.source_hash, c.model
"""


def try_noop_embed(settings: "Settings", model: str, book_slug: str) -> dict[str, Any] | None:
    """The result of `embed` (not --full, not --dry-run) when there is nothing to do, or None."""
    from bookctl.db.plain import connect
    from bookctl.db.revisions import quick_head
    from bookctl.pipeline.chunk_version import CHUNKER_VERSION, source_marker

    try:
        conn = connect(settings.database_url)
        if conn is None:
            return None
        try:
            cur = conn.cursor()
            cur.execute("SELECT version_num FROM alembic_version")
            if [r[0] for r in cur.fetchall()] != [quick_head()]:
                return None
            # one statement: one snapshot, also under READ COMMITTED
            cur.execute(_STATE.format(mark="?" if settings.database_url.startswith("sqlite") else "%s"), (book_slug,))
            rows = cur.fetchall()
        finally:
            conn.close()
    except Exception:  # noqa: BLE001 - this only ever shortcuts; the full run reports real errors
        return None
    if not rows:
        return None  # no such book (or no lessons): the full run says so
    lessons: dict[Any, list] = {}
    for lesson_id, content_hash, status, removed_at, bucket_path, source, chunk_model, count in rows:
        entry = lessons.setdefault(lesson_id, [status == "written" and removed_at is None and bucket_path is not None,
                                               content_hash, []])
        if count:
            entry[2].append((source, chunk_model, count))
    chunks = 0
    for live, content_hash, groups in lessons.values():
        if not live:
            if groups:
                return None  # chunks of a removed or planned lesson: the full run deletes them
            continue
        if len(groups) != 1 or groups[0][:2] != (source_marker(content_hash, settings.chunk_tokens), model):
            return None
        chunks += groups[0][2]
    live = sum(1 for entry in lessons.values() if entry[0])
    return {"book": book_slug, "model": model, "lessons": live, "changed": 0, "chunks": chunks, "embedded": 0,
            "skipped": chunks, "deleted": 0, "requests": 0, "dry_run": False, "full": False,
            "chunker": CHUNKER_VERSION, "plan": []}
