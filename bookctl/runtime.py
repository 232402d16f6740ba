"""The dependencies one process needs (engine, sessions, store), built once at the edge from Settings."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bookctl.config import Settings
from bookctl.db.engine import make_engine, make_session_factory, unit_of_work
from bookctl.storage import ObjectStore, open_store

T = TypeVar("T")


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    store: ObjectStore
    _autocommit: sessionmaker[Session] | None = field(default=None, repr=False)

    @classmethod
    def open(cls, settings: Settings, *, check_schema: bool = True) -> "Runtime":
        from bookctl.db.engine import connect_errors_as_config
        from bookctl.db.migrate import ensure_schema

        # first: a bad URL must not leave a database behind (opening a store never connects)
        store = open_store(settings.storage_url, concurrency=settings.storage_concurrency,
                           max_attempts=settings.storage_max_attempts)
        engine = make_engine(settings.database_url)
        try:
            if check_schema:
                with connect_errors_as_config(settings.database_url):
                    ensure_schema(engine, settings.database_url, auto=settings.is_embedded_db)
        except BaseException:
            engine.dispose()
            raise
        return cls(settings, engine, make_session_factory(engine), store)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits when the block succeeds, rolls back otherwise."""
        with unit_of_work(self.sessions) as session:
            yield session

    def write(self, work: Callable[[Session], T]) -> T:
        """A write that is ONE statement (an upsert): run in autocommit, so the statement is its own transaction
        and costs one round trip instead of three (BEGIN, statement, COMMIT); run again once if the
        connection was lost (bookctl.db.engine.retry_on_disconnect). Atomic as any single statement is."""
        from bookctl.db.engine import retry_on_disconnect

        if self._autocommit is None:
            self._autocommit = make_session_factory(self.engine.execution_options(isolation_level="AUTOCOMMIT"))
        return retry_on_disconnect(self._autocommit, work)

    def close(self) -> None:
        self.store.close()
        self.engine.dispose()
