"""The content service: the book tree, parts, chapters, lessons (by slug or by route) and lesson markdown.

The whole book changes only at `bookctl sync`, so it is read once into an immutable `Snapshot` held in
memory. Freshness: a cheap fingerprint (row count and max(updated_at) of books, parts, chapters and lessons)
is compared at most once every `ttl` seconds (default 1 s); a different fingerprint rebuilds the snapshot.
So a sync is visible to the API within about a second, and serving the tree costs no database work.

Retired lessons (`removed_at` set) are never served.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from bookctl.curriculum.frontmatter import strip_front_matter
from bookctl.curriculum.routes import strip_number_prefix
from bookctl.content import schemas as s
from bookctl.content.resolver import candidates, doc_id, resolve
from bookctl.db import models as m
from bookctl.errors import LessonMovedError, NotFoundError, StorageError
from bookctl.runtime import Runtime


@dataclass(frozen=True)
class LessonEntry:
    """Everything the learner services need about one lesson, without touching the DB."""

    lesson: s.Lesson
    summary: s.LessonSummary
    part_id: uuid.UUID | None
    chapter_id: uuid.UUID | None
    bucket_path: str | None
    prerequisite_ids: tuple[uuid.UUID, ...]
    unlisted: bool = False  # front matter `unlisted: true`: served at its route, never recommended
    prerequisite_notes: tuple[str, ...] = ()  # front-matter prerequisites that name no lesson, as written

    @property
    def id(self) -> uuid.UUID:
        return self.lesson.id

    @property
    def written(self) -> bool:
        return self.lesson.status == "written"


@dataclass(frozen=True)
class ChapterEntry:
    chapter: s.Chapter
    part_id: uuid.UUID
    prerequisite_ids: tuple[uuid.UUID, ...]
    lesson_ids: tuple[uuid.UUID, ...]  # in reading order


@dataclass
class Snapshot:
    book: s.Book
    fingerprint: tuple
    route_base: str = "/docs"
    lessons: dict[uuid.UUID, LessonEntry] = field(default_factory=dict)  # in reading order
    by_slug: dict[str, LessonEntry] = field(default_factory=dict)
    by_route: dict[str, LessonEntry] = field(default_factory=dict)
    by_doc_id: dict[str, LessonEntry] = field(default_factory=dict)  # the file's path under docs/, as written or unprefixed
    doc_id_clashes: dict[str, list[LessonEntry]] = field(default_factory=dict)  # unprefixed ids several files share
    parts: dict[int, s.Part] = field(default_factory=dict)
    parts_by_id: dict[uuid.UUID, s.Part] = field(default_factory=dict)
    chapters: dict[int, s.Chapter] = field(default_factory=dict)
    chapters_by_id: dict[uuid.UUID, ChapterEntry] = field(default_factory=dict)
    part_summaries: list[s.PartSummary] = field(default_factory=list)
    #: Routes lessons were served at before they moved (bookctl redirects): old route -> the lesson today.
    moved_from: dict[str, LessonEntry] = field(default_factory=dict)
    #: Derived data other services compute once per snapshot (it is replaced, never changed, on a sync).
    memo: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    def find(self, ref: str, site_base: str = "") -> LessonEntry | None:
        """The one lesson `ref` names (slug, route, doc id or site pathname: see `bookctl.content.resolver`), or
        None when it names none or several."""
        found = candidates(self, ref, site_base)
        return found[0] if len(found) == 1 else None

    def moved(self, ref: str) -> LessonEntry | None:
        """The lesson that was served at route `ref` before it moved (None when `ref` never was a route)."""
        bare = ref.strip().strip("/")
        return self.moved_from.get("/" + bare) if bare else None

    def written(self) -> list[LessonEntry]:
        return [e for e in self.lessons.values() if e.written]


def _fingerprint(session: Session) -> tuple:
    queries = [select(func.count(), func.max(t.updated_at)) for t in (m.Book, m.Part, m.Chapter, m.Lesson)]
    return tuple(tuple(row) for row in session.execute(union_all(*queries)).all())


class ContentService:
    """Thread-safe. Construct one per process (the API builds it in `create_app`)."""

    def __init__(self, runtime: Runtime, *, ttl: float = 1.0, body_cache_size: int = 256) -> None:
        self.runtime = runtime
        self.ttl = ttl
        self._snapshot: Snapshot | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()
        self._bodies: OrderedDict[str, str] = OrderedDict()  # content hash -> markdown (an LRU)
        self._body_cache_size = body_cache_size

    # ------------------------------------------------------------ snapshot

    def fresh(self) -> Snapshot | None:
        """The snapshot if it was checked within `ttl` seconds (no I/O at all), else None."""
        snap = self._snapshot
        if snap is not None and time.monotonic() - self._checked_at < self.ttl:
            return snap
        return None

    def snapshot(self) -> Snapshot:
        """The current snapshot, rebuilt when the DB fingerprint changed (blocking: DB I/O)."""
        snap = self.fresh()
        if snap is not None:
            return snap
        with self._lock:
            snap = self.fresh()
            if snap is not None:
                return snap
            with self.runtime.sessions() as session:
                fp = _fingerprint(session)
                if self._snapshot is None or self._snapshot.fingerprint != fp:
                    self._snapshot = self._build(session, fp)
            self._checked_at = time.monotonic()
            return self._snapshot

    def invalidate(self) -> None:
        self._checked_at = 0.0

    def _build(self, session: Session, fp: tuple) -> Snapshot:
        settings = self.runtime.settings
        query = select(m.Book)
        if settings.book_slug:
            query = query.where(m.Book.slug == settings.book_slug)
        book = session.scalars(query.order_by(m.Book.updated_at.desc()).limit(1)).first()
        if book is None:
            raise NotFoundError("no book has been synced yet: run `bookctl sync`",
                                detail={"book": settings.book_slug or None})
        parts = session.scalars(select(m.Part).where(m.Part.book_id == book.id).order_by(m.Part.number)).all()
        part_ids = [p.id for p in parts]
        chapters = session.scalars(select(m.Chapter).where(m.Chapter.part_id.in_(part_ids))
                                   .order_by(m.Chapter.number)).all() if part_ids else []
        lessons = session.scalars(select(m.Lesson).where(m.Lesson.book_id == book.id, m.Lesson.removed_at.is_(None))
                                  .order_by(m.Lesson.position, m.Lesson.number)).all()

        part_number = {p.id: p.number for p in parts}
        chapter_by_id = {c.id: c for c in chapters}
        lesson_slug = {str(row.id): row.slug for row in lessons}
        written_order = [row for row in lessons if row.status == "written"]
        neighbours: dict[uuid.UUID, tuple[str | None, str | None]] = {}
        for i, row in enumerate(written_order):
            prev = written_order[i - 1].slug if i > 0 else None
            nxt = written_order[i + 1].slug if i + 1 < len(written_order) else None
            neighbours[row.id] = (prev, nxt)

        snap = Snapshot(book=None, fingerprint=fp, route_base=self.runtime.settings.route_base)  # type: ignore[arg-type]
        book_pages: list[s.LessonSummary] = []
        part_pages: dict[uuid.UUID, list[s.LessonSummary]] = {p.id: [] for p in parts}
        chapter_lessons: dict[uuid.UUID, list[s.LessonSummary]] = {c.id: [] for c in chapters}
        chapter_lesson_ids: dict[uuid.UUID, list[uuid.UUID]] = {c.id: [] for c in chapters}
        for row in lessons:
            summary = s.LessonSummary(
                id=row.id, slug=row.slug, route=row.route, title=row.title, type=row.type, status=row.status,
                layer=row.layer, number=row.number, position=row.position, estimated_minutes=row.estimated_minutes,
                tags=list(row.tags or []),
            )
            chapter = chapter_by_id.get(row.chapter_id) if row.chapter_id else None
            prev, nxt = neighbours.get(row.id, (None, None))
            prereq_ids = tuple(uuid.UUID(x) for x in (row.prerequisites or []) if x in lesson_slug)
            lesson = s.Lesson(
                id=row.id, slug=row.slug, route=row.route, title=row.title, type=row.type, status=row.status,
                layer=row.layer, number=row.number, position=row.position, estimated_minutes=row.estimated_minutes,
                tags=list(row.tags or []), description=row.description,
                part_number=part_number.get(row.part_id) if row.part_id else None,
                chapter_number=chapter.number if chapter else None,
                prerequisites=[lesson_slug[str(x)] for x in prereq_ids], content_hash=row.content_hash,
                has_content=row.status == "written" and bool(row.bucket_path), previous=prev, next=nxt,
            )
            entry = LessonEntry(lesson, summary, row.part_id, row.chapter_id if chapter else None, row.bucket_path,
                                prereq_ids, bool(row.unlisted), tuple(row.prerequisite_notes or ()))
            snap.lessons[row.id] = entry
            snap.by_slug[row.slug] = entry
            if row.route:
                snap.by_route[row.route.rstrip("/") or "/"] = entry
            if row.source_path:
                file_id = doc_id(row.source_path)
                snap.by_doc_id[file_id] = entry
                unprefixed = "/".join(strip_number_prefix(p) for p in file_id.split("/"))
                other = snap.by_doc_id.setdefault(unprefixed, entry)
                if other is not entry:  # two files differing only in number prefixes: never guess between them
                    snap.doc_id_clashes.setdefault(unprefixed, []).append(entry)
            if chapter is not None:
                chapter_lessons[chapter.id].append(summary)
                chapter_lesson_ids[chapter.id].append(row.id)
            elif row.part_id in part_pages:
                part_pages[row.part_id].append(summary)
            else:
                book_pages.append(summary)

        for old_route, lesson_id in session.execute(
            select(m.RouteHistory.route, m.RouteHistory.lesson_id).where(m.RouteHistory.book_id == book.id)
        ):
            entry = snap.lessons.get(lesson_id)
            if entry is not None and entry.lesson.route and old_route not in snap.by_route:
                snap.moved_from[old_route.rstrip("/") or "/"] = entry

        chapter_number = {c.id: c.number for c in chapters}
        part_chapters: dict[uuid.UUID, list[s.Chapter]] = {p.id: [] for p in parts}
        for c in chapters:
            prereq_ids = tuple(uuid.UUID(x) for x in (c.prerequisites or []) if _is_uuid(x)
                               and uuid.UUID(x) in chapter_number)
            node = s.Chapter(
                id=c.id, number=c.number, local_number=c.local_number, part_number=part_number[c.part_id],
                title=c.title, description=c.description, folder_name=c.folder_name,
                prerequisites=sorted(chapter_number[x] for x in prereq_ids), lessons=chapter_lessons[c.id],
            )
            part_chapters[c.part_id].append(node)
            snap.chapters[c.number] = node
            snap.chapters_by_id[c.id] = ChapterEntry(node, c.part_id, prereq_ids, tuple(chapter_lesson_ids[c.id]))

        part_nodes = []
        for p in parts:
            node = s.Part(
                id=p.id, number=p.number, title=p.title, description=p.description, layer=p.layer, tier=p.tier,
                week_start=p.week_start, week_end=p.week_end, pages=part_pages[p.id], chapters=part_chapters[p.id],
            )
            part_nodes.append(node)
            snap.parts[p.number] = node
            snap.parts_by_id[p.id] = node
            in_part = [x for x in snap.lessons.values() if x.part_id == p.id]
            snap.part_summaries.append(s.PartSummary(
                number=p.number, title=p.title, description=p.description, layer=p.layer, tier=p.tier,
                week_start=p.week_start, week_end=p.week_end, chapters=len(part_chapters[p.id]),
                lessons=len(in_part), written=sum(1 for x in in_part if x.written),
            ))
        written = sum(1 for x in snap.lessons.values() if x.written)
        snap.book = s.Book(
            slug=book.slug, title=book.title, description=book.description, version=book.version,
            counts=s.BookCounts(parts=len(parts), chapters=len(chapters), lessons=len(snap.lessons),
                                written=written, planned=len(snap.lessons) - written),
            pages=book_pages, parts=part_nodes,
        )
        return snap

    # ------------------------------------------------------------ lookups

    def book(self) -> s.Book:
        return self.snapshot().book

    def parts(self) -> list[s.PartSummary]:
        return self.snapshot().part_summaries

    def part(self, number: int) -> s.Part:
        part = self.snapshot().parts.get(number)
        if part is None:
            raise NotFoundError(f"no part {number} in this book", detail={"part": number})
        return part

    def chapter(self, number: int) -> s.Chapter:
        chapter = self.snapshot().chapters.get(number)
        if chapter is None:
            raise NotFoundError(f"no chapter {number} in this book", detail={"chapter": number})
        return chapter

    def entry(self, ref: str) -> LessonEntry:
        """A lesson by slug, route, doc id or the site's pathname; NotFoundError naming what was asked for (with
        the candidates when `ref` is ambiguous); LessonMovedError for an old route of a moved lesson."""
        snap = self.snapshot()
        # An old route of a moved lesson is answered before the doc-id guess (which might still match its file).
        if ref.strip().strip("/") not in snap.by_slug and (moved := snap.moved(ref)) is not None:
            raise LessonMovedError(ref.strip()[:500], moved.lesson.route, moved.lesson.slug)
        return resolve(snap, ref, self.runtime.settings.site_base_url)

    def candidates(self, ref: str) -> list[LessonEntry]:
        return candidates(self.snapshot(), ref, self.runtime.settings.site_base_url)

    def lesson(self, ref: str) -> s.Lesson:
        return self.entry(ref).lesson

    def lesson_content(self, ref: str) -> s.LessonContent:
        """The lesson's markdown from the object store, without its front matter (the page metadata is in the
        lesson fields). A planned lesson is a 404 with its own message.

        Served only when the stored bytes hash to the row's `content_hash`. Objects are immutable (the hash
        is in the key), so bodies are cached by hash: a remote store costs one fetch per body. A snapshot
        older than a sync that has just replaced the lesson (its old object deleted) is refreshed once."""
        for attempt in range(2):
            entry = self.entry(ref)
            lesson = entry.lesson
            if not entry.written or not entry.bucket_path or not lesson.content_hash:
                raise NotFoundError(
                    f"lesson {lesson.slug!r} is planned and has no content yet",
                    detail={"lesson": lesson.slug, "status": lesson.status, "reason": "planned"},
                )
            text = self._bodies.get(lesson.content_hash)
            if text is not None:
                with self._lock:
                    if lesson.content_hash in self._bodies:
                        self._bodies.move_to_end(lesson.content_hash)
                break
            try:
                raw: bytes | None = self.runtime.store.get(entry.bucket_path)
            except NotFoundError:
                raw = None
            if raw is not None and hashlib.sha256(raw).hexdigest() == lesson.content_hash:
                text = strip_front_matter(raw.decode("utf-8", errors="replace"))
                with self._lock:
                    self._bodies[lesson.content_hash] = text
                    while len(self._bodies) > self._body_cache_size:
                        self._bodies.popitem(last=False)
                break
            if attempt == 0:  # a sync may have just switched the row to a new object: read the rows again
                self.invalidate()
                self.snapshot()
        else:
            raise StorageError(f"the store does not hold the body the database records for lesson {lesson.slug!r} "
                               "(run `bookctl sync --verify`)", detail={"lesson": lesson.slug})
        return s.LessonContent(slug=lesson.slug, route=lesson.route, title=lesson.title,
                               content_hash=lesson.content_hash, format="markdown", content=text)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(str(value))
        return True
    except ValueError:
        return False
