"""The dependencies one process needs (engine, sessions, store), built once at the edge from Settings."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bookctl.config import Settings
from bookctl.db.engine import make_engine, make_session_factory, unit_of_work
from bookctl.storage import ObjectStore, open_store


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    store: ObjectStore

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

    def close(self) -> None:
        self.store.close()
        self.engine.dispose()
