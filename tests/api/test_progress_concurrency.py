"""Concurrent progress updates on the same row lose nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from bookctl.content.service import ContentService
from bookctl.db import models as m
from bookctl.learners import progress, users
from tests.api.conftest import open_runtime

LESSON = "what-is-physical-ai/lesson-embodiment-hypothesis"


def test_concurrent_start_time_and_complete(book_env):
    runtime = open_runtime(book_env)
    try:
        entry = ContentService(runtime).entry(LESSON)
        with runtime.session() as session:
            user_id = users.create_user(session).id

        def work(i: int) -> None:
            with runtime.session() as session:
                if i % 10 == 0:
                    progress.start(session, user_id, entry)
                progress.add_time(session, user_id, entry, 7)
                if i == 37:
                    progress.complete(session, user_id, entry)

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(work, range(80)))

        with runtime.session() as session:
            state = progress.get_progress(session, user_id, entry)
            rows = session.scalar(select(func.count()).select_from(m.UserProgress)
                                  .where(m.UserProgress.user_id == user_id))
        assert rows == 1
        assert state.time_spent_seconds == 80 * 7
        assert state.status == "completed" and state.completed_at and state.started_at
    finally:
        runtime.close()


def test_start_is_idempotent_and_complete_keeps_first_completion(book_env):
    runtime = open_runtime(book_env)
    try:
        entry = ContentService(runtime).entry(LESSON)
        with runtime.session() as session:
            user_id = users.create_user(session).id
        with runtime.session() as session:
            first = progress.start(session, user_id, entry)
        with runtime.session() as session:
            again = progress.start(session, user_id, entry)
        assert again.started_at == first.started_at and again.status == "in_progress"
        with runtime.session() as session:
            done = progress.complete(session, user_id, entry)
        with runtime.session() as session:
            assert progress.start(session, user_id, entry).status == "completed"  # start never un-completes
            assert progress.complete(session, user_id, entry).completed_at == done.completed_at
        with runtime.session() as session:
            import pytest

            from bookctl.errors import NotFoundError

            with pytest.raises(NotFoundError):
                progress.start(session, uuid.uuid4(), entry)  # unknown user
    finally:
        runtime.close()
