"""Variants that are stale or would become so: `bookctl status` counts, `bookctl personalize --prune`, and what a
sync would make stale (its job summary's regeneration cost)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bookctl.db import models as m
from bookctl.llm.prices import cost
from bookctl.personalization.plan import MESSAGE_OVERHEAD, OUT_FACTOR, book_row, default_book_slug
from bookctl.personalization.profile import Profile
from bookctl.personalization.prompts import build_messages

if TYPE_CHECKING:
    from bookctl.runtime import Runtime


# ------------------------------------------------------------------ bookctl status

def stage_report(session: Session, book: m.Book) -> dict[str, int]:
    """Variants for this book: current (lesson body and prompt version match) and stale (pruneable)."""
    from sqlalchemy import and_, func

    from bookctl.personalization.prompts import PROMPT_VERSION

    pc, lesson = m.PersonalizedContent, m.Lesson
    base = select(func.count()).select_from(pc).join(lesson, lesson.id == pc.lesson_id).where(lesson.book_id == book.id)
    current_cond = and_(pc.content_hash == lesson.content_hash, pc.prompt_version == PROMPT_VERSION,
                        lesson.removed_at.is_(None))
    total = session.scalar(base) or 0
    current = session.scalar(base.where(current_cond)) or 0
    profiles = session.scalar(select(func.count(func.distinct(pc.profile_hash))).select_from(pc)
                              .join(lesson, lesson.id == pc.lesson_id)
                              .where(lesson.book_id == book.id, current_cond)) or 0
    review = dict(session.execute(select(pc.review_status, func.count()).select_from(pc)
                                  .join(lesson, lesson.id == pc.lesson_id)
                                  .where(lesson.book_id == book.id, current_cond).group_by(pc.review_status)).all())
    # the review backlog (bookctl review): current variants nobody has approved yet, and rejected ones
    return {"personalized": current, "profiles": profiles, "stale": total - current,
            "unreviewed": review.get("unreviewed", 0), "approved": review.get("approved", 0),
            "rejected": review.get("rejected", 0)}


def prune(runtime: "Runtime", book_slug: str | None, prompt_version: str, dry_run: bool = False) -> list[dict[str, Any]]:
    """Delete this book's variants that can never be served again: made from an older lesson body, for a removed
    lesson, or with another prompt version. (Variants of other models are kept: switching back serves them.)
    Returns what was (with `dry_run`, what would be) deleted; a dry run deletes nothing."""
    from sqlalchemy import delete, or_

    pc, lesson = m.PersonalizedContent, m.Lesson
    with runtime.session() as session:
        book = book_row(session, book_slug or default_book_slug(runtime))
        stale = (select(pc.id, pc.lesson_slug, pc.profile_hash, pc.prompt_version, pc.model).join(lesson, lesson.id == pc.lesson_id)
                 .where(lesson.book_id == book.id,
                        or_(lesson.content_hash.is_(None), pc.content_hash != lesson.content_hash,
                            lesson.removed_at.is_not(None), pc.prompt_version != prompt_version))
                 .order_by(pc.lesson_slug, pc.profile_hash))
        rows = session.execute(stale).all()
        if not dry_run:
            ids = [r.id for r in rows]
            for start in range(0, len(ids), 500):
                session.execute(delete(pc).where(pc.id.in_(ids[start:start + 500])))
        return [{"lesson": r.lesson_slug, "profile": r.profile_hash[:12], "prompt_version": r.prompt_version,
                 "model": r.model} for r in rows]


# ------------------------------------------------------------------ what a sync would make stale (issue 16)

def estimate_stale(session: Session, book_id: Any, new_bodies: dict[Any, bytes], model: str,
                   prices: dict[str, dict[str, float]], *, batch: bool = True) -> dict[str, Any]:
    """The cost of regenerating the variants a sync would make stale: for each lesson whose body changes
    (`new_bodies`: lesson id -> new file bytes), every profile that has a current variant of it, counted
    with the same prompts and token factors as `bookctl personalize --dry-run`."""
    from bookctl.llm.tokens import count_tokens, encoding_for_model
    from bookctl.personalization.guards import sections
    from bookctl.personalization.prompts import PROMPT_VERSION
    from bookctl.personalization.service import SECTION_CHARS, lesson_text

    pc, lesson = m.PersonalizedContent, m.Lesson
    rows = session.execute(
        select(pc.lesson_id, pc.profile).join(lesson, lesson.id == pc.lesson_id)
        .where(lesson.book_id == book_id, pc.lesson_id.in_(list(new_bodies)), pc.content_hash == lesson.content_hash,
               pc.prompt_version == PROMPT_VERSION, pc.model == model)
    ).all() if new_bodies else []
    encoding = encoding_for_model(model) if rows else None
    pieces_of: dict[Any, list[str]] = {}
    seen: set[tuple[Any, str]] = set()
    tin = tout = calls = 0
    for lesson_id, stored in rows:
        profile = Profile.from_mapping(stored)
        if (lesson_id, profile.hash) in seen:
            continue
        seen.add((lesson_id, profile.hash))
        pieces = pieces_of.get(lesson_id)
        if pieces is None:
            pieces = pieces_of[lesson_id] = sections(lesson_text(new_bodies[lesson_id]), SECTION_CHARS)
        for i, piece in enumerate(pieces):
            messages = build_messages(profile, piece, section=(i + 1, len(pieces)))
            tin += sum(count_tokens(msg["content"], encoding) + MESSAGE_OVERHEAD for msg in messages)
            tout += int(count_tokens(piece, encoding) * OUT_FACTOR[profile.preferred_language])
        calls += len(pieces)
    return {"lessons": len(pieces_of), "variants": len(seen), "llm_calls": calls, "model": model,
            "tokens_in": tin, "tokens_out": tout, "batch": batch,
            "cost_usd": cost(prices, model, tin, tout, batch=batch) if seen else 0.0}
