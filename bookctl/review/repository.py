"""Queries for the review page. Functions take a Session and flush; the caller commits."""

from __future__ import annotations

import uuid
from typing import Any, Sequence

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from bookctl.db import models as m

_pc, _lesson, _book = m.PersonalizedContent, m.Lesson, m.Book


def _stale(prompt_version: str):
    """A variant no learner can be served again: an older lesson body, a removed lesson, another prompt."""
    return or_(_lesson.content_hash.is_(None), _pc.content_hash != _lesson.content_hash,
               _lesson.removed_at.is_not(None), _pc.prompt_version != prompt_version)


def written_lessons(session: Session) -> Sequence[Any]:
    """(id, book slug, slug, title, route) of every current written lesson, in reading order per book."""
    return session.execute(
        select(_lesson.id, _book.slug, _lesson.slug, _lesson.title, _lesson.route)
        .join(_book, _book.id == _lesson.book_id)
        .where(_lesson.removed_at.is_(None), _lesson.status == "written")
        .order_by(_book.slug, _lesson.position)
    ).all()


def variant_counts(session: Session, prompt_version: str) -> Sequence[Any]:
    """Per lesson: (lesson_id, stale?, review_status, variants, distinct profiles)."""
    stale = _stale(prompt_version)
    return session.execute(
        select(_pc.lesson_id, stale.label("stale"), _pc.review_status, func.count(),
               func.count(func.distinct(_pc.profile_hash)))
        .join(_lesson, _lesson.id == _pc.lesson_id)
        .group_by(_pc.lesson_id, stale, _pc.review_status)
    ).all()


def variants_of(session: Session, lesson_id: uuid.UUID, prompt_version: str) -> Sequence[Any]:
    """(variant, stale?) for one lesson: current ones first, newest first."""
    stale = _stale(prompt_version).label("stale")
    return session.execute(
        select(_pc, stale).join(_lesson, _lesson.id == _pc.lesson_id)
        .where(_pc.lesson_id == lesson_id).order_by(stale, _pc.created_at.desc())
    ).all()


def all_variants(session: Session, prompt_version: str, status: str | None = None,
                 include_stale: bool = False) -> Sequence[Any]:
    """(variant, stale?) across every book, in reading order."""
    stale = _stale(prompt_version)
    query = (select(_pc, stale.label("stale")).join(_lesson, _lesson.id == _pc.lesson_id)
             .order_by(_lesson.book_id, _lesson.position, _pc.created_at))
    if status:
        query = query.where(_pc.review_status == status)
    if not include_stale:
        query = query.where(~stale)
    return session.execute(query).all()


def variant_with_stale(session: Session, variant_id: uuid.UUID, prompt_version: str) -> Any | None:
    return session.execute(
        select(_pc, _stale(prompt_version).label("stale")).join(_lesson, _lesson.id == _pc.lesson_id)
        .where(_pc.id == variant_id)
    ).first()


def backlog(session: Session, prompt_version: str) -> dict[str, int]:
    stale = _stale(prompt_version)
    rows = session.execute(
        select(stale.label("stale"), _pc.review_status, func.count())
        .join(_lesson, _lesson.id == _pc.lesson_id).group_by(stale, _pc.review_status)
    ).all()
    counts = {"unreviewed": 0, "rejected": 0, "approved": 0, "stale": 0}
    for is_stale, status, n in rows:
        counts["stale" if is_stale else status] = counts.get("stale" if is_stale else status, 0) + n
    return counts


def lesson_by_ref(session: Session, ref: str) -> m.Lesson | None:
    """A current lesson by id, slug or route (the review page links by id; scripts may use a slug)."""
    try:
        by_id = session.get(m.Lesson, uuid.UUID(ref))
    except ValueError:
        by_id = None
    if by_id is not None:
        return by_id
    return session.scalar(select(m.Lesson).where(
        _lesson.removed_at.is_(None), or_(_lesson.slug == ref, _lesson.route == ref,
                                          and_(_lesson.route.is_not(None), _lesson.route == "/" + ref.strip("/"))))
        .order_by(_lesson.created_at))
