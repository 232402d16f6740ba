"""Progress: start (idempotent), complete, add time, per-lesson status and a summary.

Writes are race-free without application locks: each is ONE statement, an upsert on the unique
(user_id, lesson_id) whose conflict branch changes the row atomically (e.g.
``time_spent_seconds = time_spent_seconds + :delta``) and RETURNING the result. Concurrent requests on the
same row therefore lose nothing, on SQLite (3.35+) and on PostgreSQL, and a write costs one round trip.
Each write transaction starts with its write (no read first), so SQLite never has to upgrade a read
snapshot into a write lock.

Lessons are passed in as `LessonEntry` objects from the content snapshot (no lookup query).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import lru_cache

from sqlalchemy import Integer, bindparam, case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bookctl.content.service import LessonEntry, Snapshot
from bookctl.db import models as m
from bookctl.db.base import new_id, utcnow
from bookctl.errors import NotFoundError, ValidationError
from bookctl.learners.schemas import (
    MAX_TIME_DELTA, ChapterProgress, as_utc, LessonProgress, PartProgress, ProgressCounts, ProgressSummary,
)
from bookctl.learners.users import get_user_row

T = m.UserProgress


def _require_written(entry: LessonEntry) -> None:
    if not entry.written:
        raise NotFoundError(f"lesson {entry.lesson.slug!r} is planned and has no content yet; "
                            "progress can only be recorded on written lessons",
                            detail={"lesson": entry.lesson.slug, "status": entry.lesson.status, "reason": "planned"})


@lru_cache(maxsize=8)
def _upsert_statement(dialect: str, kind: str):
    """The upsert for one kind of write, built once per dialect. Writes are the API's hottest path: building the
    statement on every call, through the ORM, cost 1.0 ms of CPU per write; this prebuilt Core statement with
    bind parameters costs 0.18 ms (SQLite, measured in-process)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = bindparam("p_now", type_=T.updated_at.type)
    fresh = T.status == "not_started"
    started = func.coalesce(T.started_at, now)
    on_conflict = {
        "start": {"status": case((fresh, "in_progress"), else_=T.status), "started_at": started,
                  "updated_at": case((fresh, now), else_=T.updated_at)},
        "complete": {"status": "completed", "started_at": started,
                     "completed_at": func.coalesce(T.completed_at, now), "updated_at": now},
        "time": {"time_spent_seconds": T.time_spent_seconds + bindparam("p_seconds", type_=Integer),
                 "status": case((fresh, "in_progress"), else_=T.status), "started_at": started,
                 "updated_at": now},
    }[kind]
    return (insert(T.__table__)  # Core, not the ORM's bulk-insert machinery: nothing here needs it
            .values(id=bindparam("p_id"), user_id=bindparam("p_user_id"), lesson_id=bindparam("p_lesson_id"),
                    created_at=now, updated_at=now, status=bindparam("p_status"),
                    started_at=bindparam("p_started_at"), completed_at=bindparam("p_completed_at"),
                    time_spent_seconds=bindparam("p_seconds"))
            .on_conflict_do_update(index_elements=["user_id", "lesson_id"], set_=on_conflict)
            .returning(T.status, T.started_at, T.completed_at, T.time_spent_seconds))


def _upsert(session: Session, user_id: uuid.UUID, entry: LessonEntry, kind: str, *, status: str,
            completed: bool = False, seconds: int = 0) -> LessonProgress:
    """Insert the row as (`status`, started now, completed now if `completed`, `seconds`), or apply `kind`'s
    change to the existing row; one statement."""
    _require_written(entry)
    now = utcnow()
    stmt = _upsert_statement(session.get_bind().dialect.name, kind)
    params = {"p_id": new_id(), "p_user_id": user_id, "p_lesson_id": entry.id, "p_now": now, "p_status": status,
              "p_started_at": now, "p_completed_at": now if completed else None, "p_seconds": seconds}
    try:
        row = session.execute(stmt, params).one()
    except IntegrityError:  # the only other constraint is the user foreign key (the caller rolls back)
        raise NotFoundError(f"user {user_id} not found", detail={"user_id": str(user_id)}) from None
    return _progress(entry, row)


def _progress(entry: LessonEntry, row) -> LessonProgress:
    lesson = entry.lesson
    if row is None:
        return LessonProgress(lesson_id=lesson.id, slug=lesson.slug, route=lesson.route, title=lesson.title,
                              status="not_started", started_at=None, completed_at=None, time_spent_seconds=0)
    return LessonProgress(lesson_id=lesson.id, slug=lesson.slug, route=lesson.route, title=lesson.title,
                          status=row.status, started_at=as_utc(row.started_at), completed_at=as_utc(row.completed_at),
                          time_spent_seconds=int(row.time_spent_seconds or 0))


def get_progress(session: Session, user_id: uuid.UUID, entry: LessonEntry) -> LessonProgress:
    get_user_row(session, user_id)
    row = session.execute(select(T.status, T.started_at, T.completed_at, T.time_spent_seconds)
                          .where(T.user_id == user_id, T.lesson_id == entry.id)).first()
    return _progress(entry, row)


def start(session: Session, user_id: uuid.UUID, entry: LessonEntry) -> LessonProgress:
    """Mark a lesson in progress. Idempotent: a started or completed lesson keeps its state and dates."""
    return _upsert(session, user_id, entry, "start", status="in_progress")


def complete(session: Session, user_id: uuid.UUID, entry: LessonEntry) -> LessonProgress:
    """Mark a lesson completed (starting it if needed). The first completion time is kept."""
    return _upsert(session, user_id, entry, "complete", status="completed", completed=True)


def add_time(session: Session, user_id: uuid.UUID, entry: LessonEntry, seconds: int) -> LessonProgress:
    """Add 1..MAX_TIME_DELTA seconds of reading time (starting the lesson if needed). Time accumulates."""
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 1 <= seconds <= MAX_TIME_DELTA:
        raise ValidationError(f"seconds must be a whole number from 1 to {MAX_TIME_DELTA}",
                              detail={"field": "seconds", "minimum": 1, "maximum": MAX_TIME_DELTA})
    return _upsert(session, user_id, entry, "time", status="in_progress", seconds=seconds)


_C = T.__table__.c  # Core columns: a plain select skips the ORM's result machinery on a hot path
_PROGRESS_OF_USER = (select(_C.lesson_id, _C.status, _C.time_spent_seconds, _C.updated_at)
                     .where(_C.user_id == bindparam("user_id")))


def progress_map(session: Session, user_id: uuid.UUID) -> dict[uuid.UUID, tuple[str, int, datetime | None]]:
    """lesson id -> (status, time_spent_seconds, updated_at) for every row of this user."""
    rows = session.execute(_PROGRESS_OF_USER, {"user_id": user_id}).all()
    return {r.lesson_id: (r.status, int(r.time_spent_seconds or 0), as_utc(r.updated_at)) for r in rows}


def _pct(done: int, total: int) -> float:
    return round(100.0 * done / total, 1) if total else 0.0


def summary(session: Session, user_id: uuid.UUID, snap: Snapshot) -> ProgressSummary:
    """Overall, per part and per chapter; only written (readable) lessons count."""
    get_user_row(session, user_id)
    progress = progress_map(session, user_id)
    written = snap.written()

    def count(entries: list[LessonEntry]) -> tuple[int, int, int]:
        states = [progress.get(e.id, ("not_started", 0, None))[0] for e in entries]
        return len(entries), states.count("completed"), states.count("in_progress")

    total, done, doing = count(written)
    seconds = sum(progress.get(e.id, ("", 0, None))[1] for e in written)
    overall = ProgressCounts(total=total, completed=done, in_progress=doing, percent_complete=_pct(done, total),
                             time_spent_seconds=seconds)
    parts = []
    for part in snap.book.parts:
        chapters = []
        for chapter in part.chapters:
            entries = [e for e in written if e.chapter_id == chapter.id]
            t, d, p = count(entries)
            chapters.append(ChapterProgress(number=chapter.number, title=chapter.title, total=t, completed=d,
                                            in_progress=p, percent_complete=_pct(d, t)))
        t, d, p = count([e for e in written if e.part_id == part.id])
        parts.append(PartProgress(number=part.number, title=part.title, total=t, completed=d, in_progress=p,
                                  percent_complete=_pct(d, t), chapters=chapters))
    return ProgressSummary(user_id=user_id, overall=overall, parts=parts)
