"""ORM models for every table (column names follow the original data model where it names them)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean, CheckConstraint, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false

from bookctl.db.base import EMBEDDING_TYPE, Base, JSONType, TimestampMixin, new_id, utcnow

LESSON_TYPES = ("lesson", "lab", "summary", "index")
LESSON_STATUSES = ("planned", "written")
PROGRESS_STATUSES = ("not_started", "in_progress", "completed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Book(TimestampMixin, Base):
    __tablename__ = "books"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    version: Mapped[str | None] = mapped_column(String(20))

    parts: Mapped[list[Part]] = relationship(back_populates="book", order_by="Part.number", passive_deletes=True)


class Part(TimestampMixin, Base):
    __tablename__ = "parts"
    __table_args__ = (UniqueConstraint("book_id", "number"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    book_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("books.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    layer: Mapped[str] = mapped_column(String(10))
    tier: Mapped[str | None] = mapped_column(String(20))
    folder_name: Mapped[str] = mapped_column(String(100))
    week_start: Mapped[int | None] = mapped_column(Integer)
    week_end: Mapped[int | None] = mapped_column(Integer)
    transition_check: Mapped[str | None] = mapped_column(Text)

    book: Mapped[Book] = relationship(back_populates="parts")
    chapters: Mapped[list[Chapter]] = relationship(back_populates="part", order_by="Chapter.number", passive_deletes=True)


class Chapter(TimestampMixin, Base):
    __tablename__ = "chapters"
    __table_args__ = (UniqueConstraint("part_id", "local_number"), UniqueConstraint("part_id", "number"))

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    part_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parts.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    local_number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    folder_name: Mapped[str] = mapped_column(String(100))
    prerequisites: Mapped[list[str]] = mapped_column(JSONType, default=list)  # chapter ids (as strings)
    transition_check: Mapped[str | None] = mapped_column(Text)

    part: Mapped[Part] = relationship(back_populates="chapters")


class Lesson(TimestampMixin, Base):
    """A lesson or page. Chapter lessons have a chapter; part pages only a part; book pages neither.

    A lesson that disappears from the book is kept with `removed_at` set when learners have progress on
    it (sync never deletes learner data); its object is deleted from the store all the same.
    """

    __tablename__ = "lessons"
    __table_args__ = (
        UniqueConstraint("book_id", "slug"),
        UniqueConstraint("book_id", "route"),
        CheckConstraint(_in("type", LESSON_TYPES), name="type"),
        CheckConstraint(_in("status", LESSON_STATUSES), name="status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    book_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("books.id", ondelete="CASCADE"), index=True)
    part_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("parts.id", ondelete="SET NULL"), index=True)
    chapter_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("chapters.id", ondelete="SET NULL"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)  # reading order across the whole book
    title: Mapped[str] = mapped_column(String(255))
    outline_title: Mapped[str | None] = mapped_column(String(255))
    slug: Mapped[str] = mapped_column(String(255), index=True)
    route: Mapped[str | None] = mapped_column(String(500))
    type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    layer: Mapped[str | None] = mapped_column(String(10))
    description: Mapped[str | None] = mapped_column(Text)
    source_path: Mapped[str | None] = mapped_column(String(500))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    bucket_path: Mapped[str | None] = mapped_column(String(500))
    vector_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    sidebar_position: Mapped[float | None] = mapped_column(Float)
    estimated_minutes: Mapped[int | None] = mapped_column(Integer)
    tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    prerequisites: Mapped[list[str]] = mapped_column(JSONType, default=list)  # lesson ids (as strings)
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    unlisted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # served, never recommended
    prerequisite_notes: Mapped[list[str]] = mapped_column(JSONType, default=list, server_default="[]")  # free text

    def meta(self) -> dict[str, Any]:
        return {c.name: getattr(self, c.key) for c in self.__table__.columns}


class User(TimestampMixin, Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    onboarding_completed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    preferences: Mapped[UserPreferences | None] = relationship(back_populates="user", uselist=False)


class UserPreferences(TimestampMixin, Base):
    __tablename__ = "user_preferences"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    education_level: Mapped[str] = mapped_column(String(50))
    programming_experience: Mapped[str] = mapped_column(String(50))
    robotics_background: Mapped[bool] = mapped_column(Boolean)
    ai_ml_experience: Mapped[str] = mapped_column(String(50))
    learning_goals: Mapped[list[str]] = mapped_column(JSONType, default=list)
    preferred_language: Mapped[str] = mapped_column(String(10), default="en", server_default="en")

    user: Mapped[User] = relationship(back_populates="preferences")


class UserProgress(TimestampMixin, Base):
    __tablename__ = "user_progress"
    __table_args__ = (
        UniqueConstraint("user_id", "lesson_id"),
        CheckConstraint(_in("status", PROGRESS_STATUSES), name="status"),
        CheckConstraint("time_spent_seconds >= 0", name="time_spent_nonnegative"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    lesson_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="not_started", server_default="not_started", index=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    time_spent_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class PersonalizedContent(Base):
    """A variant shared by every learner with the same profile (not per user).

    Key: (lesson, content_hash, profile_hash, prompt_version, model). A new lesson body, profile, prompt
    or model selects a different row; old rows are pruned, never served.
    """

    __tablename__ = "personalized_content_cache"
    __table_args__ = (UniqueConstraint("lesson_id", "content_hash", "profile_hash", "prompt_version", "model"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    lesson_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    lesson_slug: Mapped[str] = mapped_column(String(255), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    profile_hash: Mapped[str] = mapped_column(String(64))
    prompt_version: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(100))
    profile: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    personalized_content: Mapped[str] = mapped_column(Text)
    tokens_in: Mapped[int | None] = mapped_column(Integer)
    tokens_out: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # editors' review (issue 15, migration 0004): unreviewed | approved | rejected. A rejected variant is never
    # served; its regeneration replaces the row in place with the note as `correction` and starts unreviewed.
    review_status: Mapped[str] = mapped_column(String(16), default="unreviewed", server_default="unreviewed",
                                               index=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(255))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    review_note: Mapped[str | None] = mapped_column(Text)
    correction: Mapped[str | None] = mapped_column(Text)  # the editor's note this variant was generated with
    generation_ms: Mapped[int | None] = mapped_column(Integer)


Index("ix_lessons_book_status", Lesson.book_id, Lesson.status)


# ---------------------------------------------------------------- personalization (issue 5, migration 0003)

class PersonalizationMiss(Base):
    """One cache miss a learner caused (a generation started for them): the per-user rate limit counts these."""

    __tablename__ = "personalization_misses"
    __table_args__ = (Index("ix_personalization_misses_user_created", "user_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    lesson_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("lessons.id", ondelete="SET NULL"))
    profile_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PersonalizationReset(Base):
    """`DELETE /api/personalize/cache`: variants created before `cleared_at` are not served to this user again
    (they are regenerated, within the rate limit); the shared rows stay for everyone else."""

    __tablename__ = "personalization_resets"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    cleared_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PersonalizationClaim(Base):
    """Cross-process single flight: the one process generating a variant section holds its claim row.

    Taken by one conditional upsert (insert, or take over an expired lease), renewed by the live generator,
    deleted when the variant is stored or the generation fails. A killed generator stops renewing, so its
    lease runs out and a waiter in any process takes over (issue 10, migration 0005)."""

    __tablename__ = "personalization_claims"

    claim_key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the variant (section) key
    owner: Mapped[str] = mapped_column(String(64))  # a random id per generation attempt
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PersonalizationBatch(Base):
    """An OpenAI Batch API job submitted by `bookctl personalize --batch`, collected by `--collect`."""

    __tablename__ = "personalization_batches"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # the provider's batch id
    model: Mapped[str] = mapped_column(String(100))
    prompt_version: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32), default="submitted")
    input_file_id: Mapped[str | None] = mapped_column(String(100))
    requests: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # variant key -> lesson/profile/sections
    result: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    collected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# ---------------------------------------------------------------- route history (issue 16, migration 0005)

class RouteHistory(Base):
    """A URL a lesson was served at before it moved: the old -> new map behind `bookctl redirects` and the
    API's redirects. One row per old route; it points at the lesson (whose current route is today's page),
    so a URL that moved twice still lands on the right page. Dropped when a live lesson takes the route again."""

    __tablename__ = "route_history"
    __table_args__ = (UniqueConstraint("book_id", "route"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    book_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("books.id", ondelete="CASCADE"), index=True)
    route: Mapped[str] = mapped_column(String(500))
    lesson_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    moved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# ---------------------------------------------------------------- search (issue 4)


class Chunk(Base):
    """A passage of a lesson, as searched. `id` is stable: hash(lesson id, chunk hash, occurrence).

    `chunk_hash` = sha256(chunker version + normalised embedded text): the embedding cache key.
    `embedding` is pgvector `vector` (no fixed dim; HNSW indexes per dim on `embedding::vector(dim)`)
    on PostgreSQL and float32 little-endian bytes on SQLite (exact search in numpy).
    """

    __tablename__ = "chunks"
    __table_args__ = (UniqueConstraint("lesson_id", "position"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    lesson_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    chunk_hash: Mapped[str] = mapped_column(String(64), index=True)
    heading_path: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text)
    token_count: Mapped[int] = mapped_column(Integer)
    start_offset: Mapped[int] = mapped_column(Integer)
    end_offset: Mapped[int] = mapped_column(Integer)
    source_hash: Mapped[str] = mapped_column(String(64))  # the lesson content_hash it was cut from
    model: Mapped[str] = mapped_column(String(100), index=True)
    dim: Mapped[int] = mapped_column(Integer)
    embedding: Mapped[Any] = mapped_column(EMBEDDING_TYPE)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EmbeddingCache(Base):
    """One vector per (model, chunk hash): identical text is never embedded twice, across lessons and runs."""

    __tablename__ = "embedding_cache"

    model: Mapped[str] = mapped_column(String(100), primary_key=True)
    chunk_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32 little-endian
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SyncState(Base):
    """Per book, what `bookctl sync` needs across runs and machines (the database is the store's manifest):

    - `store_id`: the store the lesson rows' `bucket_path`s live in (a hash of its URL, no secret in it);
    - `dirty`: set (and committed) before a sync writes to the store, cleared after its clean-up. A sync that
      finds it set, or a different store, lists the store once to adopt or delete what a killed run left;
    - `fingerprint`, `db_state`, `result`: the no-op receipt (bookctl/pipeline/receipt.py), here rather than
      on local disk so that every machine syncing into this database shares it.
    """

    __tablename__ = "sync_state"

    book_slug: Mapped[str] = mapped_column(String(100), primary_key=True)
    store_id: Mapped[str] = mapped_column(String(64))
    dirty: Mapped[bool] = mapped_column(Boolean, default=False)
    fingerprint: Mapped[str | None] = mapped_column(String(64), index=True)
    db_state: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
