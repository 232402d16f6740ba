"""The review service: what editors read and decide. Functions take a Session and flush; the edge commits.

Review states: `unreviewed` (every new text), `approved` (reviewer and time recorded), `rejected` (note kept;
never served again; the next generation of that key replaces it with the note in the prompt). Regenerating is
the personalization service's job (`PersonalizationService.regenerate`), so single flight and LLM bounds apply.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from bookctl.db import models as m
from bookctl.errors import ConflictError, NotFoundError, StorageError, ValidationError
from bookctl.personalization import repository as personalization_repo
from bookctl.personalization.repository import aware
from bookctl.review import repository as repo
from bookctl.review.render import guard_report
from bookctl.review.schemas import Backlog, LessonSummary, VariantDetail, VariantSummary

if TYPE_CHECKING:
    from bookctl.storage import ObjectStore

MAX_NOTE_CHARS = 4000


def lesson_summaries(session: Session, prompt_version: str) -> list[LessonSummary]:
    counts: dict[uuid.UUID, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for lesson_id, stale, status, n, profiles in repo.variant_counts(session, prompt_version):
        bucket = counts[lesson_id]
        if stale:
            bucket["stale"] += n
        else:
            bucket[status] += n
            bucket["variants"] += n
            bucket["profiles"] += profiles  # one status group per profile at most: a key is unique
    return [LessonSummary(lesson_id, book, slug, title, route, **{k: v for k, v in counts.get(lesson_id, {}).items()})
            for lesson_id, book, slug, title, route in repo.written_lessons(session)]


def lesson_variants(session: Session, ref: str, prompt_version: str) -> tuple[m.Lesson, list[VariantSummary]]:
    lesson = repo.lesson_by_ref(session, ref)
    if lesson is None:
        raise NotFoundError(f"no lesson {ref!r}", detail={"lesson": ref})
    return lesson, [_summary(row, stale) for row, stale in repo.variants_of(session, lesson.id, prompt_version)]


def list_variants(session: Session, prompt_version: str, *, status: str | None = None,
                  include_stale: bool = False) -> list[VariantSummary]:
    return [_summary(row, stale) for row, stale in repo.all_variants(session, prompt_version, status, include_stale)]


def variant_detail(session: Session, store: "ObjectStore", variant_id: uuid.UUID, prompt_version: str) -> VariantDetail:
    row, stale = _get(session, variant_id, prompt_version)
    lesson = session.get(m.Lesson, row.lesson_id)
    original, missing = _original(store, lesson, row)
    counts, _profiles = personalization_repo.learner_profiles(session)
    others = [_summary(r, s) for r, s in repo.variants_of(session, row.lesson_id, prompt_version)]
    return VariantDetail(
        summary=_summary(row, stale), lesson_title=lesson.title, lesson_route=lesson.route, original=original,
        text=row.personalized_content, guards=guard_report(original, row.personalized_content) if original else [],
        learners=counts.get(row.profile_hash, 0), tokens_in=row.tokens_in, tokens_out=row.tokens_out,
        generation_ms=row.generation_ms, review_note=row.review_note, correction=row.correction,
        original_missing=missing, others=others)


def approve(session: Session, variant_id: uuid.UUID, reviewer: str, now: datetime, prompt_version: str) -> VariantSummary:
    row, stale = _get(session, variant_id, prompt_version)
    if stale:
        raise ConflictError("this variant is stale (its lesson or the prompt changed) and is never served; "
                            "review the current one", detail={"variant_id": str(variant_id)})
    row.review_status, row.reviewed_by, row.reviewed_at, row.review_note = "approved", reviewer, now, None
    session.flush()
    return _summary(row, stale)


def reject(session: Session, variant_id: uuid.UUID, reviewer: str, note: str, now: datetime,
           prompt_version: str) -> VariantSummary:
    note = (note or "").strip()
    if not note:
        raise ValidationError("a rejection needs a note: it is the correction the regeneration follows",
                              detail={"field": "note"})
    if len(note) > MAX_NOTE_CHARS or "\x00" in note:
        raise ValidationError(f"the note must be at most {MAX_NOTE_CHARS} characters of text", detail={"field": "note"})
    row, stale = _get(session, variant_id, prompt_version)
    row.review_status, row.reviewed_by, row.reviewed_at, row.review_note = "rejected", reviewer, now, note
    session.flush()
    return _summary(row, stale)


def backlog(session: Session, prompt_version: str) -> Backlog:
    return Backlog(**repo.backlog(session, prompt_version))


def lesson_of_variant(session: Session, variant_id: uuid.UUID) -> uuid.UUID | None:
    row = session.get(m.PersonalizedContent, variant_id)
    return row.lesson_id if row is not None else None


def parse_variant_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(text).strip())
    except ValueError:
        raise ValidationError(f"{text!r} is not a variant id (see `bookctl review --list`)",
                              detail={"variant_id": str(text)}) from None


def _get(session: Session, variant_id: uuid.UUID, prompt_version: str) -> tuple[m.PersonalizedContent, bool]:
    found = repo.variant_with_stale(session, variant_id, prompt_version)
    if found is None:
        raise NotFoundError("no such variant", detail={"variant_id": str(variant_id)})
    return found[0], bool(found[1])


def _original(store: "ObjectStore", lesson: m.Lesson, row: m.PersonalizedContent) -> tuple[str, str | None]:
    """The lesson text the variant was made from, or today's text and why it differs, or '' and why not."""
    from bookctl.personalization.service import lesson_text

    if not lesson.bucket_path or not lesson.content_hash:
        return "", "the lesson has no synced body any more"
    try:
        raw = store.get(lesson.bucket_path)
    except StorageError as exc:
        return "", f"the lesson body could not be read: {exc.message}"
    note = None
    if hashlib.sha256(raw).hexdigest() != lesson.content_hash:
        note = "the stored body does not match the database (a sync is running); reload in a moment"
    elif lesson.content_hash != row.content_hash:
        note = "the lesson was edited after this variant was generated: today's text is shown"
    return lesson_text(raw), note


def _summary(row: m.PersonalizedContent, stale: bool) -> VariantSummary:
    return VariantSummary(id=row.id, lesson_slug=row.lesson_slug, profile_hash=row.profile_hash,
                          profile=dict(row.profile or {}), status=row.review_status, stale=bool(stale), model=row.model,
                          prompt_version=row.prompt_version, created_at=aware(row.created_at),
                          reviewed_by=row.reviewed_by, reviewed_at=aware(row.reviewed_at))
