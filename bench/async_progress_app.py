"""bench only: bookctl's learner API plus the same progress write and read done on the event loop with psycopg's
AsyncConnectionPool, for bench/api_async_bench.py. Not part of the package.

The async routes reuse everything but the database access: the same content snapshot and lesson resolution, the
same token check (the `current_user_id` dependency), the same upsert statement (compiled once for psycopg), the
same response models. So the comparison is threads + SQLAlchemy's sync session against coroutines + psycopg's
async connection, endpoint against endpoint.

    python bench/async_progress_app.py PORT      (environment as for `bookctl serve`)
"""

from __future__ import annotations

import sys

import anyio
import uvicorn
from litestar import Controller, get, put
from litestar.params import FromPath, JSONBody
from psycopg.rows import namedtuple_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool
from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg

from bookctl.api.app import create_app
from bookctl.api.deps import Content, CurrentUserId
from bookctl.config import load_settings
from bookctl.db import models as m
from bookctl.db.base import new_id, utcnow
from bookctl.errors import NotFoundError
from bookctl.learners import progress
from bookctl.learners.schemas import LessonProgress, TimeUpdate
from bookctl.runtime import Runtime


def _sql(stmt) -> tuple[str, dict]:
    """The statement as psycopg's text with %(name)s parameters (exactly what the sync path sends), and the
    values of its literal parameters ('in_progress', ...) to send along."""
    compiled = stmt.compile(dialect=pg_psycopg.dialect())
    return str(compiled), {k: v for k, v in compiled.params.items() if v is not None}


UPSERT_TIME = _sql(progress._upsert_statement("postgresql", "time"))
T = m.UserProgress
READ = _sql(select(T.status, T.started_at, T.completed_at, T.time_spent_seconds)
            .where(T.user_id == bindparam("user_id"), T.lesson_id == bindparam("lesson_id")))
USER = _sql(select(m.User.id).where(m.User.id == bindparam("user_id")))


def make(pool: AsyncConnectionPool):
    async def entry(content, ref: str):
        if content.fresh() is None:  # the snapshot's freshness check reads the database: off the loop
            await anyio.to_thread.run_sync(content.snapshot)
        return content.entry(ref)

    class AsyncProgress(Controller):
        path = "/bench/async"

        @put("/time/{ref:path}")
        async def time(self, content: Content, current_user_id: CurrentUserId, ref: FromPath[str],
                       data: JSONBody[TimeUpdate]) -> LessonProgress:
            found = await entry(content, ref)
            progress._require_written(found)
            now = utcnow()
            params = {"p_id": new_id(), "p_user_id": current_user_id, "p_lesson_id": found.id, "p_now": now,
                      "p_status": "in_progress", "p_started_at": now, "p_completed_at": None,
                      "p_seconds": data.seconds}
            async with pool.connection() as conn:  # autocommit: one statement, one round trip (as Runtime.write)
                row = await (await conn.execute(UPSERT_TIME[0], {**UPSERT_TIME[1], **params})).fetchone()
            return progress._progress(found, row)

        @get("/lessons/{ref:path}")
        async def lesson(self, content: Content, current_user_id: CurrentUserId, ref: FromPath[str]) -> LessonProgress:
            found = await entry(content, ref)
            async with pool.connection() as conn:
                if await (await conn.execute(USER[0], {**USER[1], "user_id": current_user_id})).fetchone() is None:
                    raise NotFoundError(f"user {current_user_id} not found")
                row = await (await conn.execute(READ[0], {**READ[1], "user_id": current_user_id, "lesson_id": found.id})).fetchone()
            return progress._progress(found, row)

    return AsyncProgress


def make_threaded(pool: ConnectionPool):
    """The same plain-psycopg work, but sync in Litestar's worker threads: separates "async" from "no ORM session"."""

    class ThreadedProgress(Controller):
        path = "/bench/threads"

        @put("/time/{ref:path}", sync_to_thread=True)
        def time(self, content: Content, current_user_id: CurrentUserId, ref: FromPath[str],
                 data: JSONBody[TimeUpdate]) -> LessonProgress:
            found = content.entry(ref)
            progress._require_written(found)
            now = utcnow()
            params = {"p_id": new_id(), "p_user_id": current_user_id, "p_lesson_id": found.id, "p_now": now,
                      "p_status": "in_progress", "p_started_at": now, "p_completed_at": None,
                      "p_seconds": data.seconds}
            with pool.connection() as conn:
                row = conn.execute(UPSERT_TIME[0], {**UPSERT_TIME[1], **params}).fetchone()
            return progress._progress(found, row)

        @get("/lessons/{ref:path}", sync_to_thread=True)
        def lesson(self, content: Content, current_user_id: CurrentUserId, ref: FromPath[str]) -> LessonProgress:
            found = content.entry(ref)
            with pool.connection() as conn:
                if conn.execute(USER[0], {**USER[1], "user_id": current_user_id}).fetchone() is None:
                    raise NotFoundError(f"user {current_user_id} not found")
                row = conn.execute(READ[0], {**READ[1], "user_id": current_user_id, "lesson_id": found.id}).fetchone()
            return progress._progress(found, row)

    return ThreadedProgress


def main(port: int) -> None:
    settings = load_settings()
    runtime = Runtime.open(settings)
    conninfo = "postgresql://" + settings.database_url.split("://", 1)[1]
    # the size of SQLAlchemy's default pool (5 + 10 overflow), so both sides may hold as many connections
    pool = AsyncConnectionPool(conninfo, min_size=5, max_size=15, open=False,
                               kwargs={"autocommit": True, "row_factory": namedtuple_row})

    async def open_pool() -> None:
        await pool.open(wait=True)

    threaded = ConnectionPool(conninfo, min_size=5, max_size=15, open=False,
                              kwargs={"autocommit": True, "row_factory": namedtuple_row})

    def open_threaded() -> None:
        threaded.open(wait=True)

    app = create_app(runtime, extra_controllers=[make(pool), make_threaded(threaded)])
    app.on_startup.extend([open_pool, open_threaded])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main(int(sys.argv[1]))
