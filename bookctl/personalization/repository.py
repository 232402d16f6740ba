"""Database access for personalization. Functions take a Session and flush; the caller commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bookctl.db import models as m


@dataclass(frozen=True)
class CacheKey:
    lesson_id: uuid.UUID
    content_hash: str
    profile_hash: str
    prompt_version: str
    model: str

    @property
    def custom_id(self) -> str:
        """The key as one string (the Batch API's `custom_id`)."""
        return "|".join((str(self.lesson_id), self.content_hash, self.profile_hash, self.prompt_version, self.model))

    @classmethod
    def parse(cls, custom_id: str) -> "CacheKey":
        lesson, content, profile, prompt, model = custom_id.split("|", 4)
        return cls(uuid.UUID(lesson), content, profile, prompt, model)


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything here is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)


def learner_profiles(session: Session) -> tuple[dict[str, int], dict[str, "Profile"]]:
    """How many onboarded learners have each profile (by hash, most common first), and the profiles themselves.
    Preferences that no longer make a valid profile are skipped."""
    from collections import Counter

    from bookctl.errors import ValidationError
    from bookctl.personalization.profile import Profile

    counts: Counter[str] = Counter()
    profiles: dict[str, Profile] = {}
    rows = session.scalars(select(m.UserPreferences).join(m.User).where(m.User.onboarding_completed.is_(True)))
    for prefs in rows:
        try:
            profile = Profile.from_preferences(prefs)
        except ValidationError:
            continue
        counts[profile.hash] += 1
        profiles[profile.hash] = profile
    return dict(counts.most_common()), profiles


def get_variant(session: Session, key: CacheKey) -> m.PersonalizedContent | None:
    return session.scalar(select(m.PersonalizedContent).where(
        m.PersonalizedContent.lesson_id == key.lesson_id,
        m.PersonalizedContent.content_hash == key.content_hash,
        m.PersonalizedContent.profile_hash == key.profile_hash,
        m.PersonalizedContent.prompt_version == key.prompt_version,
        m.PersonalizedContent.model == key.model,
    ))


def cached_keys(session: Session, lesson_ids: list[uuid.UUID], prompt_version: str, model: str) -> set[tuple]:
    """(lesson_id, content_hash, profile_hash) of every variant present for these lessons, prompt and model."""
    if not lesson_ids:
        return set()
    rows = session.execute(select(
        m.PersonalizedContent.lesson_id, m.PersonalizedContent.content_hash, m.PersonalizedContent.profile_hash,
    ).where(m.PersonalizedContent.lesson_id.in_(lesson_ids), m.PersonalizedContent.prompt_version == prompt_version,
            m.PersonalizedContent.model == model, m.PersonalizedContent.review_status != "rejected"))
    return {tuple(r) for r in rows}


def rejected_notes(session: Session, lesson_ids: list[uuid.UUID], prompt_version: str, model: str) -> dict[tuple, str]:
    """(lesson_id, content_hash, profile_hash) -> the editor's note, for every rejected variant of these lessons:
    pre-generation regenerates them with the note as a correction."""
    if not lesson_ids:
        return {}
    pc = m.PersonalizedContent
    rows = session.execute(select(pc.lesson_id, pc.content_hash, pc.profile_hash, pc.review_note).where(
        pc.lesson_id.in_(lesson_ids), pc.prompt_version == prompt_version, pc.model == model,
        pc.review_status == "rejected"))
    return {(r[0], r[1], r[2]): r[3] or "" for r in rows}


def lock_learner_misses(session: Session, user_id: uuid.UUID, before: datetime) -> None:
    """Serialize one learner's miss accounting across processes until the transaction ends, and forget misses
    older than the window. Must be the transaction's first statement.

    PostgreSQL: the learner's `users` row is locked (SELECT ... FOR UPDATE), so concurrent charges for the same
    learner queue up while others proceed. SQLite: the prune is a write, and a write as a transaction's first
    statement takes the database's single write lock (waiting out busy_timeout), so count-then-insert below is
    atomic there too."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(m.User.id).where(m.User.id == user_id).with_for_update())
    prune_misses(session, before, user_id)


def count_misses(session: Session, user_id: uuid.UUID, since: datetime) -> int:
    return session.scalar(select(func.count()).select_from(m.PersonalizationMiss).where(
        m.PersonalizationMiss.user_id == user_id, m.PersonalizationMiss.created_at >= since)) or 0


def oldest_miss(session: Session, user_id: uuid.UUID, since: datetime) -> datetime | None:
    return aware(session.scalar(select(func.min(m.PersonalizationMiss.created_at)).where(
        m.PersonalizationMiss.user_id == user_id, m.PersonalizationMiss.created_at >= since)))


def add_miss(session: Session, user_id: uuid.UUID, lesson_id: uuid.UUID, profile_hash: str, at: datetime) -> uuid.UUID:
    row = m.PersonalizationMiss(user_id=user_id, lesson_id=lesson_id, profile_hash=profile_hash, created_at=at)
    session.add(row)
    session.flush()
    return row.id


def remove_miss(session: Session, miss_id: uuid.UUID) -> None:
    session.execute(delete(m.PersonalizationMiss).where(m.PersonalizationMiss.id == miss_id))


def prune_misses(session: Session, before: datetime, user_id: uuid.UUID | None = None) -> int:
    """Forget misses older than the window (the log never grows beyond one window per learner)."""
    query = delete(m.PersonalizationMiss).where(m.PersonalizationMiss.created_at < before)
    if user_id is not None:
        query = query.where(m.PersonalizationMiss.user_id == user_id)
    return session.execute(query).rowcount or 0


# ------------------------------------------------------------------ cross-process single flight (claims)

def claim(session: Session, claim_key: str, owner: str, now: datetime, expires_at: datetime) -> str:
    """Take the claim for `claim_key` unless a live one exists; returns the owner holding it afterwards.

    One conditional upsert: insert, or take over the row only when its lease has run out. Both dialects
    serialize concurrent upserts on the primary key, so exactly one caller's owner ends up in the row."""
    table = m.PersonalizationClaim.__table__
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(table).values(claim_key=claim_key, owner=owner, expires_at=expires_at, created_at=now)
    session.execute(statement.on_conflict_do_update(
        index_elements=[table.c.claim_key],
        set_={"owner": owner, "expires_at": expires_at, "created_at": now},
        where=table.c.expires_at < now,
    ))
    return session.scalar(select(table.c.owner).where(table.c.claim_key == claim_key)) or ""


def renew_claim(session: Session, claim_key: str, owner: str, expires_at: datetime) -> bool:
    """Extend a live generator's lease; False when the claim is no longer ours (it expired and was taken)."""
    table = m.PersonalizationClaim.__table__
    result = session.execute(update(table).where(table.c.claim_key == claim_key, table.c.owner == owner)
                             .values(expires_at=expires_at))
    return (result.rowcount or 0) == 1


def release_claim(session: Session, claim_key: str, owner: str) -> None:
    table = m.PersonalizationClaim.__table__
    session.execute(delete(table).where(table.c.claim_key == claim_key, table.c.owner == owner))


def get_reset(session: Session, user_id: uuid.UUID) -> datetime | None:
    row = session.get(m.PersonalizationReset, user_id)
    return aware(row.cleared_at) if row else None


def set_reset(session: Session, user_id: uuid.UUID, at: datetime) -> None:
    row = session.get(m.PersonalizationReset, user_id)
    if row is None:
        session.add(m.PersonalizationReset(user_id=user_id, cleared_at=at))
    else:
        row.cleared_at = at
    session.flush()


def count_variants(session: Session, profile_hash: str, prompt_version: str, model: str, before: datetime) -> int:
    return session.scalar(select(func.count()).select_from(m.PersonalizedContent).where(
        m.PersonalizedContent.profile_hash == profile_hash, m.PersonalizedContent.prompt_version == prompt_version,
        m.PersonalizedContent.model == model, m.PersonalizedContent.created_at <= before)) or 0


# ------------------------------------------------------------------ the cached read path: two Core queries

@lru_cache(maxsize=1)
def _read_statements():
    """Built once: the cached path's two statements, with bound parameters (SQLAlchemy caches their compilation)."""
    from sqlalchemy import and_, bindparam

    u, p, r = m.User.__table__, m.UserPreferences.__table__, m.PersonalizationReset.__table__
    learner = (select(u.c.onboarding_completed, p.c.education_level, p.c.programming_experience,
                      p.c.robotics_background, p.c.ai_ml_experience, p.c.preferred_language, r.c.cleared_at)
               .select_from(u.outerjoin(p, p.c.user_id == u.c.id).outerjoin(r, r.c.user_id == u.c.id))
               .where(u.c.id == bindparam("user_id", type_=u.c.id.type)))
    l, pc = m.Lesson.__table__, m.PersonalizedContent.__table__
    join = l.outerjoin(pc, and_(pc.c.lesson_id == l.c.id, pc.c.content_hash == l.c.content_hash,
                                pc.c.profile_hash == bindparam("profile_hash"),
                                pc.c.prompt_version == bindparam("prompt_version"), pc.c.model == bindparam("model")))
    lesson = (select(l.c.id, l.c.slug, l.c.status, l.c.content_hash, l.c.bucket_path,
                     pc.c.personalized_content, pc.c.created_at, pc.c.review_status)
              .select_from(join)
              .where(l.c.removed_at.is_(None), l.c.slug == bindparam("slug"))
              .order_by(l.c.created_at))
    return learner, lesson


def learner_row(conn, user_id: uuid.UUID):
    """(onboarding_completed, the five profile fields or NULLs, cleared_at) of a user, or None."""
    return conn.execute(_read_statements()[0], {"user_id": user_id}).first()


def lesson_with_variant(conn, slug: str, profile_hash: str, prompt_version: str, model: str) -> list:
    """Current lessons with this slug (oldest first), each with its variant for (content, profile, prompt, model)
    if any. The slug is the one bookctl.content.resolver named."""
    return list(conn.execute(_read_statements()[1], {"slug": slug, "profile_hash": profile_hash,
                                                     "prompt_version": prompt_version, "model": model}))
