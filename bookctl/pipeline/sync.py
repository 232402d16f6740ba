"""`bookctl sync`: upsert the book tables, upload changed lesson bodies, remove what disappeared.

Order matters for crash safety (a kill -9 at any point, then a re-run, converges):
  1. list the store once; plan uploads by content hash (and re-upload any object that went missing);
  2. upload (each put is atomic);
  3. one DB transaction upserts every row and records content_hash + bucket_path;
  4. only after that commit, delete objects no row refers to (removed lessons, and orphans of a crashed run).
A row therefore never points at a missing object, and orphans live at most until the next sync.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bookctl.curriculum.model import Book, Chapter, Lesson, Part
from bookctl.db import models as m
from bookctl.errors import Problem
from bookctl.storage import ObjectStore, lesson_key

if TYPE_CHECKING:
    from bookctl.runtime import Runtime

Progress = Callable[[int, int], None]


@dataclass
class SyncResult:
    book: str
    parts: int
    chapters: int
    lessons: int
    written: int
    planned: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    uploaded: int = 0
    objects_deleted: int = 0
    dry_run: bool = False
    plan: list[dict[str, str]] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["warnings"] = [w.as_dict() for w in self.warnings]
        return data


def content_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _key(book: Book, lesson: Lesson, parts: dict[int, Part], chapters: dict[int, Chapter]) -> str:
    part = parts.get(lesson.part_number) if lesson.part_number else None
    chapter = chapters.get(lesson.chapter_number) if lesson.chapter_number else None
    return lesson_key(book.slug, lesson.slug, part.folder if part else None, chapter.folder if chapter else None)


def sync(session: Session, store: ObjectStore, book: Book, *, dry_run: bool = False,
         warnings: list[Problem] | None = None, on_upload: Progress | None = None) -> SyncResult:
    """Bring the database and the store in line with `book`. Flushes; the caller commits.

    Call `sweep_orphans` after the commit to delete objects nothing refers to.
    """
    lessons = book.all_lessons()
    written = [lesson for lesson in lessons if lesson.status == "written"]
    result = SyncResult(
        book=book.slug, parts=len(book.parts), chapters=len(book.all_chapters()), lessons=len(lessons),
        written=len(written), planned=len(lessons) - len(written), dry_run=dry_run, warnings=list(warnings or []),
    )
    parts_by_number = {p.number: p for p in book.parts}
    chapters_by_number = {c.number: c for c in book.all_chapters()}

    book_row = session.scalar(select(m.Book).where(m.Book.slug == book.slug))
    rows = {} if book_row is None else {
        r.slug: r for r in session.scalars(select(m.Lesson).where(m.Lesson.book_id == book_row.id))
    }
    _keep_ids(rows, lessons)
    stored = set(store.list(f"books/{book.slug}/"))

    uploads: list[tuple[Lesson, str, str]] = []
    for lesson in written:
        digest, key = content_hash(lesson.body), _key(book, lesson, parts_by_number, chapters_by_number)
        row = rows.get(lesson.slug)
        if row is None or row.content_hash != digest or row.bucket_path != key or key not in stored:
            uploads.append((lesson, digest, key))
    in_book = {lesson.slug for lesson in lessons}
    gone = [r for slug, r in rows.items() if r.removed_at is None and slug not in in_book]
    result.plan = [{"action": "upload", "slug": l.slug, "key": k} for l, _, k in uploads]
    result.plan += [{"action": "remove", "slug": r.slug, "key": r.bucket_path or ""} for r in gone]

    if dry_run:
        new = sum(1 for lesson in lessons if lesson.slug not in rows)
        result.created, result.deleted, result.uploaded = new, len(gone), len(uploads)
        result.updated = len({l.slug for l, _, _ in uploads} - {l.slug for l in lessons if l.slug not in rows})
        result.unchanged = len(lessons) - new - result.updated
        return result

    for done, (lesson, _digest, key) in enumerate(uploads, start=1):
        store.put(key, lesson.body)
        if on_upload:
            on_upload(done, len(uploads))
    result.uploaded = len(uploads)

    book_row = _upsert_book(session, book, book_row)
    part_rows = _upsert_parts(session, book, book_row)
    chapter_rows = _upsert_chapters(session, book, part_rows)
    _upsert_lessons(session, book, book_row, part_rows, chapter_rows, rows, result)
    _remove(session, gone, result)
    _delete_stale_parts(session, book_row, part_rows)
    session.flush()
    return result


def _keep_ids(rows: dict[str, m.Lesson], lessons: list[Lesson]) -> None:
    """Key a row under its lesson's new slug when the lesson is written or un-written, so it keeps its id.

    A planned lesson's slug comes from its outline bullet and a written one's from its file name; the
    bullet and the file are the same lesson when they share the chapter and the number (the n-th bullet is
    the file numbered n). So when a file appears for a planned lesson, or a written lesson's file is
    deleted while its bullet stays, the upsert renames the row instead of deleting one and creating
    another: learners' progress stays with the lesson either way.
    """
    in_book = {lesson.slug for lesson in lessons}
    vacated = {(slug.rsplit("/", 1)[0], row.number, row.status): row for slug, row in rows.items()
               if row.removed_at is None and slug not in in_book and "/" in slug}
    flipped = {"written": "planned", "planned": "written"}
    for lesson in lessons:
        if lesson.slug in rows or "/" not in lesson.slug or lesson.status not in flipped:
            continue
        row = vacated.pop((lesson.slug.rsplit("/", 1)[0], lesson.number, flipped[lesson.status]), None)
        if row is not None:
            rows[lesson.slug] = rows.pop(row.slug)


def _assign(row: Any, values: dict[str, Any]) -> bool:
    """Set only the attributes that differ, so an unchanged book issues no UPDATE at all."""
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    return changed


def _upsert_book(session: Session, book: Book, row: m.Book | None) -> m.Book:
    values = {"slug": book.slug, "title": book.title, "description": book.description, "version": book.version}
    if row is None:
        row = m.Book(**values)
        session.add(row)
        session.flush()
    else:
        _assign(row, values)
    return row


def _upsert_parts(session: Session, book: Book, book_row: m.Book) -> dict[int, m.Part]:
    existing = {p.number: p for p in session.scalars(select(m.Part).where(m.Part.book_id == book_row.id))}
    out = {}
    for part in book.parts:
        values = {
            "title": part.title, "description": part.focus, "layer": part.layer or "", "tier": part.tier,
            "folder_name": part.folder, "week_start": part.week_start, "week_end": part.week_end,
            "transition_check": part.transition_check,
        }
        row = existing.get(part.number)
        if row is None:
            row = m.Part(book_id=book_row.id, number=part.number, **values)
            session.add(row)
        else:
            _assign(row, values)
        out[part.number] = row
    session.flush()
    return out


def _upsert_chapters(session: Session, book: Book, part_rows: dict[int, m.Part]) -> dict[int, m.Chapter]:
    part_ids = [p.id for p in part_rows.values()]
    existing = {c.number: c for c in session.scalars(select(m.Chapter).where(m.Chapter.part_id.in_(part_ids)))}
    out: dict[int, m.Chapter] = {}
    for part in book.parts:
        for chapter in part.chapters:
            row = existing.pop(chapter.number, None)
            values = {
                "part_id": part_rows[part.number].id, "local_number": chapter.local_number, "title": chapter.title,
                "folder_name": chapter.folder, "transition_check": chapter.transition_check,
            }
            if row is None:
                row = m.Chapter(number=chapter.number, prerequisites=[], **values)
                session.add(row)
            else:
                _assign(row, values)
            out[chapter.number] = row
    for stale in existing.values():  # chapters that left the book (or moved part and were re-created)
        session.delete(stale)
    # Local numbers may be reshuffled between two chapters; flush deletes first to free the unique keys.
    session.flush()
    for part in book.parts:
        for chapter in part.chapters:
            _assign(out[chapter.number], {"prerequisites": [str(out[n].id) for n in chapter.prerequisites]})
    return out


def _upsert_lessons(session: Session, book: Book, book_row: m.Book, part_rows: dict[int, m.Part],
                    chapter_rows: dict[int, m.Chapter], rows: dict[str, m.Lesson], result: SyncResult) -> None:
    parts = {p.number: p for p in book.parts}
    chapters = {c.number: c for c in book.all_chapters()}
    touched: dict[str, m.Lesson] = {}
    outcome: dict[str, str] = {}
    for position, lesson in enumerate(book.all_lessons()):
        is_written = lesson.status == "written"
        values = {
            "part_id": part_rows[lesson.part_number].id if lesson.part_number else None,
            "chapter_id": chapter_rows[lesson.chapter_number].id if lesson.chapter_number else None,
            "slug": lesson.slug, "number": lesson.number, "position": position, "title": lesson.title[:255],
            "outline_title": lesson.outline_title[:255] if lesson.outline_title else None,
            "route": lesson.route, "type": lesson.type, "status": lesson.status, "layer": lesson.layer,
            "description": lesson.description,
            "source_path": lesson.source.as_posix() if lesson.source else None,
            "content_hash": content_hash(lesson.body) if is_written else None,
            "bucket_path": _key(book, lesson, parts, chapters) if is_written else None,
            "sidebar_position": lesson.sidebar_position, "estimated_minutes": lesson.estimated_minutes,
            "tags": lesson.tags, "removed_at": None,
            "unlisted": lesson.unlisted, "prerequisite_notes": lesson.prerequisite_notes,
        }
        row = rows.get(lesson.slug)
        if row is None:
            row = m.Lesson(book_id=book_row.id, prerequisites=[], vector_ids=[], **values)
            session.add(row)
            outcome[lesson.slug] = "created"
        else:
            outcome[lesson.slug] = "updated" if _assign(row, values) else "unchanged"
        touched[lesson.slug] = row
    session.flush()  # new rows get their ids, which prerequisites refer to
    for lesson in book.all_lessons():
        prerequisites = [str(touched[slug].id) for slug in lesson.prerequisites]
        if _assign(touched[lesson.slug], {"prerequisites": prerequisites}) and outcome[lesson.slug] == "unchanged":
            outcome[lesson.slug] = "updated"
    counts = list(outcome.values())
    result.created, result.updated, result.unchanged = (counts.count(k) for k in ("created", "updated", "unchanged"))


def _remove(session: Session, gone: list[m.Lesson], result: SyncResult) -> None:
    """Delete lessons that left the book, but keep (retired) those learners have progress on."""
    if not gone:
        return
    with_progress = set(session.scalars(
        select(m.UserProgress.lesson_id).where(m.UserProgress.lesson_id.in_([r.id for r in gone])).distinct()
    ))
    now = datetime.now(timezone.utc)
    for row in gone:
        if row.id in with_progress:
            _assign(row, {"removed_at": now, "part_id": None, "chapter_id": None, "route": None,
                          "content_hash": None, "bucket_path": None})
        else:
            session.delete(row)
        result.deleted += 1


def _delete_stale_parts(session: Session, book_row: m.Book, part_rows: dict[int, m.Part]) -> None:
    keep = {p.id for p in part_rows.values()}
    for part in session.scalars(select(m.Part).where(m.Part.book_id == book_row.id)):
        if part.id not in keep:
            session.delete(part)


def sweep_orphans(session: Session, store: ObjectStore, book_slug: str) -> int:
    """Delete every object under the book's prefix that no live lesson row refers to."""
    referenced = set(session.scalars(
        select(m.Lesson.bucket_path).join(m.Book).where(m.Book.slug == book_slug, m.Lesson.bucket_path.is_not(None))
    ))
    deleted = 0
    for key in list(store.list(f"books/{book_slug}/")):
        if key not in referenced:
            store.delete(key)
            deleted += 1
    return deleted


def run_sync(runtime: "Runtime", book: Book, *, dry_run: bool = False, warnings: list[Problem] | None = None,
             on_upload: Progress | None = None, on_done: Callable[[SyncResult], None] | None = None) -> SyncResult:
    """The whole sync as one job: lock, sync in one transaction, commit, then sweep orphan objects.

    `on_done` runs after the sweep while the lock is still held (the CLI writes its sync receipt there).
    """
    from bookctl.pipeline.lock import exclusive

    if dry_run:  # reads only; no lock, no writes
        with runtime.session() as session:
            return sync(session, runtime.store, book, dry_run=True, warnings=warnings)
    with exclusive(runtime.engine, "sync", runtime.settings.lock_timeout):
        with runtime.session() as session:
            result = sync(session, runtime.store, book, warnings=warnings, on_upload=on_upload)
        with runtime.session() as session:
            result.objects_deleted = sweep_orphans(session, runtime.store, book.slug)
        if on_done is not None:
            on_done(result)
    return result
