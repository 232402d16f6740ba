"""Helpers shared by the sync, crash and concurrency tests: normalized dumps of the DB and the store."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select

from bookctl.db import models as m
from bookctl.db.base import Base
from bookctl.db.engine import make_engine


def database_url(ws) -> str:
    return ws.env.get("BOOKCTL_DATABASE_URL") or f"sqlite:///{Path(ws.env['BOOKCTL_DATA_DIR']) / 'bookctl.db'}"


def dump_tables(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, all columns, in a stable order: equal dumps mean an unchanged database."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {t.name: sorted((tuple(map(repr, row)) for row in conn.execute(t.select())))
                    for t in Base.metadata.sorted_tables if conn.dialect.has_table(conn, t.name)}
    finally:
        engine.dispose()


def dump_lessons(url: str) -> list[dict[str, Any]]:
    """The lesson rows without ids and timestamps, so two databases synced from one book compare equal."""
    ignore = {"id", "book_id", "part_id", "chapter_id", "created_at", "updated_at", "prerequisites", "removed_at"}
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(m.Lesson.__table__)).mappings().all()
            ids = {row["id"]: row["slug"] for row in rows}
            out = []
            for row in rows:
                item = {k: v for k, v in row.items() if k not in ignore}
                item["prerequisites"] = sorted(ids[uuid.UUID(str(p))] for p in row["prerequisites"] or [])
                item["removed"] = row["removed_at"] is not None
                out.append(item)
            return sorted(out, key=lambda r: r["slug"])
    finally:
        engine.dispose()


def dump_store(root: Path) -> dict[str, bytes]:
    if not root.is_dir():
        return {}
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def check_consistent(url: str, store: Path | dict[str, bytes]) -> None:
    """No orphan objects, no row pointing at a missing object, and every object holds its row's content.

    `store`: a file store's root, or every object of a remote store (tests/storeutil.py `Backend.dump()`)."""
    import hashlib

    objects = dump_store(store) if isinstance(store, Path) else store
    keys = {r["bucket_path"]: r for r in dump_lessons(url) if r["bucket_path"]}
    assert set(objects) == set(keys), (set(objects) ^ set(keys))
    for key, row in keys.items():
        assert hashlib.sha256(objects[key]).hexdigest() == row["content_hash"], key


def add_learner(url: str, lesson_slug: str) -> uuid.UUID:
    """A user with preferences and progress on `lesson_slug`; returns the user id."""
    from sqlalchemy.orm import Session

    engine = make_engine(url)
    try:
        with Session(engine) as session:
            lesson = session.scalar(select(m.Lesson).where(m.Lesson.slug == lesson_slug))
            user = m.User(onboarding_completed=True)
            session.add(user)
            session.flush()
            session.add(m.UserPreferences(user_id=user.id, education_level="undergraduate",
                                          programming_experience="intermediate", robotics_background=False,
                                          ai_ml_experience="basic", learning_goals=["career"]))
            session.add(m.UserProgress(user_id=user.id, lesson_id=lesson.id, status="in_progress",
                                       started_at=datetime(2025, 1, 1), time_spent_seconds=120))
            session.commit()
            return user.id
    finally:
        engine.dispose()


__all__ = ["add_learner", "check_consistent", "create_engine", "database_url", "dump_lessons", "dump_store", "dump_tables"]
