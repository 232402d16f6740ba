"""`bookctl sync`: upsert the book tables, upload changed lesson bodies, remove what disappeared.

Objects are immutable: a body's key carries its content hash (bookctl/storage/base.py), so an upload never
overwrites what a row points at. The database is the store's manifest. Order, for crash safety (a kill -9
at any point, then a re-run, converges) and so that a reader never sees a body its row does not record:
  0. check the store is reachable (nothing is written otherwise), then commit `sync_state.dirty`;
  1. plan uploads from the rows (a key or hash that differs); list the store only when the last run did
     not finish (dirty), the store changed, or with --verify (which also checks every object's hash);
  2. upload new objects (new keys: nothing a reader uses changes);
  3. one DB transaction upserts every row and switches content_hash + bucket_path to the new objects;
  4. only after that commit, delete the objects no row refers to any more (batched), and orphans found by
     a listing; then clear `dirty` and record the no-op receipt in the same row.
A row therefore never points at a missing object, and orphans live at most until the next sync.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bookctl.curriculum.model import Book, Chapter, Lesson, Part
from bookctl.db import models as m
from bookctl.errors import ContentError, MassDeleteError, Problem
from bookctl.pipeline.identity import match_rows, route_changes
from bookctl.storage import ObjectStore, lesson_key, put_all, store_identity

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
    repaired: int = 0  # objects a --verify (or a listing after a killed run) found missing or wrong and re-uploaded
    dry_run: bool = False
    plan: list[dict[str, str]] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    stale_keys: list[str] = field(default_factory=list, repr=False)  # objects to delete after the commit
    #: Route safety: lessons whose URL changes (same lesson) and URLs that disappear with no successor.
    changes: list[dict[str, Any]] = field(default_factory=list)  # create|update|delete, with title and route
    moved: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    #: `--fail-on` kinds that were hit; a real sync that hits one writes nothing.
    failed_on: list[str] = field(default_factory=list)
    #: Downstream estimates of a plan (pipeline/plan_estimate.py), when asked for.
    embedding: dict[str, Any] | None = None
    personalization: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("stale_keys")
        data["warnings"] = [w.as_dict() for w in self.warnings]
        return data


def content_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _key(book: Book, lesson: Lesson, parts: dict[int, Part], chapters: dict[int, Chapter], digest: str) -> str:
    part = parts.get(lesson.part_number) if lesson.part_number else None
    chapter = chapters.get(lesson.chapter_number) if lesson.chapter_number else None
    return lesson_key(book.slug, lesson.slug, part.folder if part else None, chapter.folder if chapter else None,
                      digest)


@dataclass(frozen=True)
class _Object:
    """A written lesson as the store will hold it: its bytes there, their hash, and the key."""

    body: bytes
    digest: str
    key: str


DEFAULT_MAX_DELETE_SHARE = 0.5


def sync(session: Session, store: ObjectStore, book: Book, *, dry_run: bool = False,
         warnings: list[Problem] | None = None, on_upload: Progress | None = None,
         stored: set[str] | None = None, concurrency: int = 1, fail_on: frozenset[str] = frozenset(),
         max_delete_share: float = DEFAULT_MAX_DELETE_SHARE, allow_mass_delete: bool = False) -> SyncResult:
    """Bring the database and the store in line with `book`. Flushes; the caller commits.

    `stored`: the keys a listing found (None: trust the rows). After the commit, delete `result.stale_keys`.
    `fail_on` ("moved", "removed"): when the book would move or remove a lesson URL, write nothing and list it
    in `failed_on`. Nothing is written either when a value would not fit the database (ContentError), or when
    more than `max_delete_share` of the written lessons would stop being written, unless `allow_mass_delete`
    (MassDeleteError).
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
    old_keys = {r.bucket_path for r in rows.values() if r.bucket_path}
    renamed = match_rows(rows, lessons)  # identity follows the editor's intent (see pipeline/identity.py)
    if not allow_mass_delete:
        _refuse_mass_delete(book, rows, written, max_delete_share)

    objects: dict[str, _Object] = {}
    for lesson in written:
        body = store.stored_form(lesson.body)  # what a read returns (an MCP server strips whitespace)
        digest = content_hash(body)
        objects[lesson.slug] = _Object(body, digest, _key(book, lesson, parts_by_number, chapters_by_number, digest))
    _refuse_unstorable(book, {slug: obj.key for slug, obj in objects.items()})
    uploads: list[tuple[Lesson, _Object]] = []
    for lesson in written:
        obj, row = objects[lesson.slug], rows.get(lesson.slug)
        if row is None or row.content_hash != obj.digest or row.bucket_path != obj.key:
            uploads.append((lesson, obj))
        elif stored is not None and obj.key not in stored:
            uploads.append((lesson, obj))
            result.repaired += 1
    in_book = {lesson.slug for lesson in lessons}
    gone = [r for slug, r in rows.items() if r.removed_at is None and slug not in in_book]
    result.plan = [{"action": "upload", "slug": l.slug, "key": o.key} for l, o in uploads]
    result.plan += [{"action": "remove", "slug": r.slug, "key": r.bucket_path or ""} for r in gone]
    result.changes = _changes(rows, lessons, gone, {l.slug for l, _ in uploads})
    moved, removed = route_changes(rows, lessons, gone, renamed)
    result.moved, result.removed = [x.as_dict() for x in moved], [x.as_dict() for x in removed]
    result.failed_on = [kind for kind, hits in (("moved", moved), ("removed", removed)) if kind in fail_on and hits]

    if dry_run or result.failed_on:
        result.dry_run = True  # refused: what is reported is the plan, nothing was written
        new = sum(1 for lesson in lessons if lesson.slug not in rows)
        result.created, result.deleted, result.uploaded = new, len(gone), len(uploads)
        result.updated = len({l.slug for l, _ in uploads} - {l.slug for l in lessons if l.slug not in rows})
        result.unchanged = len(lessons) - new - result.updated
        return result

    # Uploads (network-bound) overlap the row upserts; both are done before this returns, and only then
    # may the caller commit. A failed upload raises here and the transaction rolls back.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bookctl-uploads") as background:
        uploading = background.submit(put_all, store, [(o.key, o.body) for _, o in uploads], concurrency, on_upload)
        try:
            book_row = _upsert_book(session, book, book_row)
            part_rows = _upsert_parts(session, book, book_row)
            chapter_rows = _upsert_chapters(session, book, part_rows)
            # Free the slugs and routes that change hands before any row takes them (swaps, renames, a new
            # lesson at a removed lesson's URL): the unique keys hold at every statement, on both dialects.
            _remove(session, gone, result)
            session.flush()  # deletes first: one flush would run the other rows' UPDATEs before its DELETEs
            _release_keys(session, book, rows)
            _upsert_lessons(session, book, book_row, part_rows, chapter_rows, rows, objects, result)
            record_moves(session, book, book_row, rows, moved)
            _delete_stale_parts(session, book_row, part_rows)
            session.flush()
        finally:
            upload_error = uploading.exception()  # waits for every upload, whatever happened to the rows
        if upload_error is not None:
            raise upload_error
    result.uploaded = len(uploads)
    result.stale_keys = sorted(old_keys - {o.key for o in objects.values()})
    return result


def _refuse_unstorable(book: Book, keys: dict[str, str]) -> None:
    """Raise ContentError (file:line) for any value the database would refuse, before the first upload."""
    from bookctl.pipeline.storable import storable_problems

    problems = storable_problems(book, keys)
    if problems:
        raise ContentError(problems)


def _refuse_mass_delete(book: Book, rows: dict[str, m.Lesson], written: list[Lesson], share: float) -> None:
    """A missing docs/ folder or a wrong --book looks like "delete every lesson": refuse that by default.

    Counted over written lessons, whether their row would be deleted, retired or turned back into a planned
    lesson: each of those takes the lesson's body off the site. Learner data is never deleted either way.
    """
    before = [slug for slug, row in rows.items() if row.removed_at is None and row.status == "written"]
    if not before:
        return
    still = {lesson.slug for lesson in written}
    lost = [slug for slug in before if slug not in still]
    if len(lost) > share * len(before):
        raise MassDeleteError(
            f"this sync would take {len(lost)} of the {len(before)} written lessons of {book.slug!r} off the site "
            f"(more than {share:.0%}); is --book pointing at the right folder, with its docs/? "
            "If this is intended, run it again with --allow-mass-delete",
            detail={"lost": len(lost), "written": len(before), "examples": sorted(lost)[:5]},
        )


def _changes(rows: dict[str, m.Lesson], lessons: list[Lesson], gone: list[m.Lesson], uploading: set[str]) -> list[dict[str, Any]]:
    """The plan by lesson, for people: what would be created, updated (body, title, route, status) and deleted."""
    out = []
    for lesson in lessons:
        row = rows.get(lesson.slug)
        if row is None:
            action = "create"
        elif (lesson.slug in uploading or row.removed_at is not None or row.slug != lesson.slug
              or (row.title, row.route, row.status) != (lesson.title[:255], lesson.route, lesson.status)):
            action = "update"
        else:
            continue
        out.append({"action": action, "slug": lesson.slug, "title": lesson.title, "route": lesson.route})
    out += [{"action": "delete", "slug": r.slug, "title": r.title, "route": r.route} for r in gone]
    return out


def _release_keys(session: Session, book: Book, rows: dict[str, m.Lesson]) -> None:
    """Phase one of a two-phase key update: park every slug and route that is about to change."""
    parked = False
    for lesson in book.all_lessons():
        row = rows.get(lesson.slug)
        if row is not None and (row.slug != lesson.slug or (row.route is not None and row.route != lesson.route)):
            row.slug, row.route = f"~{row.id}", None  # unique per row; phase two sets the real values
            parked = True
    if parked:
        session.flush()


def record_moves(session: Session, book: Book, book_row: m.Book, rows: dict[str, m.Lesson], moved: list) -> None:
    """Remember each old route for its lesson, so redirects and the API keep old URLs working.

    A route that a lesson holds again today is dropped from the history: the live lesson wins.
    """
    history = {h.route: h for h in session.scalars(select(m.RouteHistory).where(m.RouteHistory.book_id == book_row.id))}
    live = {lesson.route for lesson in book.all_lessons() if lesson.route}
    for route in live & set(history):
        session.delete(history.pop(route))
    now = datetime.now(timezone.utc)
    for move in moved:
        if move.old_route in live:  # a swap: another lesson answers the old URL now
            continue
        entry = history.get(move.old_route)
        if entry is None:
            entry = history[move.old_route] = m.RouteHistory(book_id=book_row.id, route=move.old_route)
            session.add(entry)
        entry.lesson_id, entry.moved_at = rows[move.slug].id, now
    session.flush()


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
                    chapter_rows: dict[int, m.Chapter], rows: dict[str, m.Lesson], objects: dict[str, _Object],
                    result: SyncResult) -> None:
    touched: dict[str, m.Lesson] = {}
    outcome: dict[str, str] = {}
    for position, lesson in enumerate(book.all_lessons()):
        obj = objects.get(lesson.slug) if lesson.status == "written" else None
        values = {
            "part_id": part_rows[lesson.part_number].id if lesson.part_number else None,
            "chapter_id": chapter_rows[lesson.chapter_number].id if lesson.chapter_number else None,
            "slug": lesson.slug, "number": lesson.number, "position": position, "title": lesson.title[:255],
            "outline_title": lesson.outline_title[:255] if lesson.outline_title else None,
            "route": lesson.route, "type": lesson.type, "status": lesson.status, "layer": lesson.layer,
            "description": lesson.description,
            "source_path": lesson.source.as_posix() if lesson.source else None,
            "content_hash": obj.digest if obj else None,
            "bucket_path": obj.key if obj else None,
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


def referenced_keys(session: Session, book_slug: str) -> set[str]:
    return set(session.scalars(
        select(m.Lesson.bucket_path).join(m.Book).where(m.Book.slug == book_slug, m.Lesson.bucket_path.is_not(None))
    ))


def _recorded(session: Session, book_slug: str) -> dict[str, str]:
    """bucket_path -> content_hash of every object the book's rows record."""
    rows = session.execute(select(m.Lesson.bucket_path, m.Lesson.content_hash).join(m.Book)
                           .where(m.Book.slug == book_slug, m.Lesson.bucket_path.is_not(None)))
    return {key: digest for key, digest in rows}


def check_objects(store: ObjectStore, recorded: dict[str, str], present: set[str], concurrency: int) -> set[str]:
    """Keys among `present` whose stored hash differs from the recorded one (one stat per object)."""
    todo = [key for key in recorded if key in present]
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(todo) or 1))) as pool:
        found = list(pool.map(store.stat, todo))
    return {key for key, digest in zip(todo, found) if digest != recorded[key]}


def run_sync(runtime: "Runtime", book: Book, *, dry_run: bool = False, warnings: list[Problem] | None = None,
             on_upload: Progress | None = None, on_done: Callable[[SyncResult], None] | None = None,
             verify: bool = False, fingerprint: str | None = None, fail_on: frozenset[str] = frozenset(),
             allow_mass_delete: bool = False) -> SyncResult:
    """The whole sync as one job: lock, check the store, sync in one transaction, commit, then delete stale
    objects and record the outcome (with the no-op receipt for `fingerprint`) in `sync_state`.

    `verify`: list the store, check every recorded object's hash, re-upload what is missing or wrong and
    delete orphans. `on_done` runs at the end while the lock is still held.
    """
    from bookctl.pipeline import receipt
    from bookctl.pipeline.lock import exclusive

    store = runtime.store
    concurrency = getattr(runtime.settings, "storage_concurrency", 8)
    if dry_run:  # reads only; no lock, no writes, no listing
        with runtime.session() as session:
            return sync(session, store, book, dry_run=True, warnings=warnings, fail_on=fail_on,
                        max_delete_share=runtime.settings.max_delete_share, allow_mass_delete=allow_mass_delete)
    with exclusive(runtime.engine, "sync", runtime.settings.lock_timeout):
        store.ping()  # a missing bucket, denied access or an unreachable server: one line, nothing written
        store_id = store_identity(runtime.settings.storage_url)
        with runtime.session() as session:
            state = session.get(m.SyncState, book.slug)
            before = None if state is None else (state.store_id, state.dirty, state.fingerprint, state.updated_at)
            listing = verify or state is None or state.dirty or state.store_id != store_id
            if state is None:
                state = m.SyncState(book_slug=book.slug, store_id=store_id)
                session.add(state)
            state.store_id, state.dirty, state.fingerprint = store_id, True, None
            recorded = _recorded(session, book.slug) if verify else {}
        # committed: a run killed from here on leaves `dirty` set, and the next one lists the store
        prefix = f"books/{book.slug}/"
        stored = set(store.list(prefix)) if listing else None
        if verify and stored is not None:
            stored -= check_objects(store, recorded, stored, concurrency)
        try:
            with runtime.session() as session:
                result = sync(session, store, book, warnings=warnings, on_upload=on_upload, stored=stored,
                              concurrency=concurrency, fail_on=fail_on,
                              max_delete_share=runtime.settings.max_delete_share, allow_mass_delete=allow_mass_delete)
        except (ContentError, MassDeleteError):
            _unmark(runtime, book.slug, before)  # refused before any upload: leave no trace
            raise
        if result.failed_on:
            _unmark(runtime, book.slug, before)
            return result  # refused before any write
        # committed: every row now points at its new object; what they pointed at before can go
        stale = set(result.stale_keys)
        if stored is not None:
            with runtime.session() as session:
                stale |= stored - referenced_keys(session, book.slug)
        result.objects_deleted = store.delete_many(sorted(stale)) if stale else 0
        summary = result.as_dict()
        state_hash = receipt.db_state(runtime.settings.database_url, book.slug) if fingerprint else None
        with runtime.session() as session:
            state = session.get(m.SyncState, book.slug)
            state.dirty = False
            if state_hash is not None:
                state.fingerprint, state.db_state = fingerprint, state_hash[0]
                state.result = json.dumps(summary, default=str)
        if on_done is not None:
            on_done(result)
    return result


def _unmark(runtime: "Runtime", book_slug: str, before: tuple | None) -> None:
    """Put `sync_state` back as it was when a sync refuses before its first upload (the store is untouched)."""
    with runtime.session() as session:
        state = session.get(m.SyncState, book_slug)
        if state is None:
            return
        if before is None:
            session.delete(state)
        else:
            state.store_id, state.dirty, state.fingerprint, state.updated_at = before
