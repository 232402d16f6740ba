"""`bookctl status`: what the database holds for the book, and what is stale against the files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from bookctl.curriculum import load_book
from bookctl.db import models as m
from bookctl.errors import BookctlError
from bookctl.pipeline.sync import content_hash, referenced_keys

if TYPE_CHECKING:
    from bookctl.runtime import Runtime

# Later stages (embed, personalize) add a function here: (session, book row) -> {label: count}.
STAGE_REPORTS: dict[str, Any] = {}


def status(runtime: "Runtime", book_dir: Path, route_base: str = "/docs", slug: str | None = None) -> dict[str, Any]:
    book, problems = load_book(book_dir, route_base, slug)
    readable = not any(p.severity == "error" for p in problems)
    book_slug = book.slug
    with runtime.session() as session:
        row = session.scalar(select(m.Book).where(m.Book.slug == book_slug))
        lessons = [] if row is None else list(session.scalars(
            select(m.Lesson).where(m.Lesson.book_id == row.id, m.Lesson.removed_at.is_(None))
        ))
        parts = 0 if row is None else session.scalar(select(func.count()).select_from(m.Part).where(m.Part.book_id == row.id))
        chapters = 0 if row is None else session.scalar(
            select(func.count()).select_from(m.Chapter).join(m.Part).where(m.Part.book_id == row.id)
        )
        stages = {name: report(session, row) for name, report in STAGE_REPORTS.items()} if row else {}
        recorded = referenced_keys(session, book_slug) if row else set()
    objects = _objects(runtime, book_slug, recorded)
    in_db = {lesson.slug: lesson for lesson in lessons}
    in_book = {lesson.slug: lesson for lesson in book.all_lessons()}
    stored_form = runtime.store.stored_form
    changed = [s for s, l in in_book.items() if s in in_db and l.status == "written"
               and in_db[s].content_hash != content_hash(stored_form(l.body))]
    new = [s for s in in_book if s not in in_db]
    removed = [s for s in in_db if s not in in_book]
    written = sum(1 for lesson in lessons if lesson.status == "written")
    return {
        "book": book_slug,
        "synced_book": row is not None,
        "book_readable": readable,
        "database": {"parts": parts, "chapters": chapters, "lessons": len(lessons), "written": written,
                     "planned": len(lessons) - written},
        "synced": written - len(changed),
        "stale": {"changed": len(changed), "new": len(new), "removed": len(removed),
                  "slugs": sorted(changed + new + removed)},
        "objects": objects,
        "stages": stages,
    }


def _objects(runtime: "Runtime", book_slug: str, recorded: set[str]) -> dict[str, Any]:
    """Objects the rows record but the store lacks (missing), and objects no row records (orphans): one listing.
    An unreachable store is reported, not raised: status still tells what the database holds."""
    try:
        stored = set(runtime.store.list(f"books/{book_slug}/"))
    except BookctlError as exc:
        return {"store": runtime.store.url, "error": exc.message, "recorded": len(recorded)}
    missing, orphans = sorted(recorded - stored), sorted(stored - recorded)
    return {"store": runtime.store.url, "recorded": len(recorded), "missing": len(missing),
            "orphans": len(orphans), "missing_keys": missing[:50], "orphan_keys": orphans[:50]}


def _register_search_report() -> None:  # issue 4: embedded / stale chunks
    from bookctl.pipeline.embed import stage_report

    STAGE_REPORTS["embeddings"] = stage_report


_register_search_report()


def _register_personalization_report() -> None:  # issue 5: personalized / stale variants
    from bookctl.personalization.stale import stage_report

    STAGE_REPORTS["personalization"] = stage_report


_register_personalization_report()
