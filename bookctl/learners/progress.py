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

from sqlalchemy import case, func, select
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


def _upsert(session: Session, user_id: uuid.UUID, entry: LessonEntry, new: dict, existing: dict) -> LessonProgress:
    """Insert the row with `new` values, or apply `existing` (SQL expressions over the row) to it; one statement."""
    _require_written(entry)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = utcnow()
    stmt = (insert(T)
            .values(id=new_id(), user_id=user_id, lesson_id=entry.id, created_at=now, updated_at=now, **new)
            .on_conflict_do_update(index_elements=["user_id", "lesson_id"], set_=existing)
            .returning(T.status, T.started_at, T.completed_at, T.time_spent_seconds))
    try:
        row = session.execute(stmt).one()
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
    now = utcnow()
    fresh = T.status == "not_started"
    return _upsert(session, user_id, entry, {"status": "in_progress", "started_at": now, "time_spent_seconds": 0}, {
        "status": case((fresh, "in_progress"), else_=T.status),
        "started_at": func.coalesce(T.started_at, now),
        "updated_at": case((fresh, now), else_=T.updated_at),
    })


def complete(session: Session, user_id: uuid.UUID, entry: LessonEntry) -> LessonProgress:
    """Mark a lesson completed (starting it if needed). The first completion time is kept."""
    now = utcnow()
    return _upsert(session, user_id, entry,
                   {"status": "completed", "started_at": now, "completed_at": now, "time_spent_seconds": 0}, {
                       "status": "completed",
                       "started_at": func.coalesce(T.started_at, now),
                       "completed_at": func.coalesce(T.completed_at, now),
                       "updated_at": now,
                   })


def add_time(session: Session, user_id: uuid.UUID, entry: LessonEntry, seconds: int) -> LessonProgress:
    """Add 1..MAX_TIME_DELTA seconds of reading time (starting the lesson if needed). Time accumulates."""
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 1 <= seconds <= MAX_TIME_DELTA:
        raise ValidationError(f"seconds must be a whole number from 1 to {MAX_TIME_DELTA}",
                              detail={"field": "seconds", "minimum": 1, "maximum": MAX_TIME_DELTA})
    now = utcnow()
    return _upsert(session, user_id, entry, {"status": "in_progress", "started_at": now, "time_spent_seconds": seconds}, {
        "time_spent_seconds": T.time_spent_seconds + seconds,
        "status": case((T.status == "not_started", "in_progress"), else_=T.status),
        "started_at": func.coalesce(T.started_at, now),
        "updated_at": now,
    })


def progress_map(session: Session, user_id: uuid.UUID) -> dict[uuid.UUID, tuple[str, int, datetime | None]]:
    """lesson id -> (status, time_spent_seconds, updated_at) for every row of this user."""
    rows = session.execute(select(T.lesson_id, T.status, T.time_spent_seconds, T.updated_at)
                           .where(T.user_id == user_id)).all()
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
