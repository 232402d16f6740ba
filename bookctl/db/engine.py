"""Engines and sessions. Services take a Session and flush; the edge (CLI command, request) commits."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs) -> Engine:
    from sqlalchemy.exc import ArgumentError

    try:
        return _make_engine(url, **kwargs)
    except (ArgumentError, ValueError) as exc:  # a malformed URL: a setting to fix, named without its secrets
        from bookctl.config import redact_url, scrub
        from bookctl.errors import ConfigError

        raise ConfigError(f"BOOKCTL_DATABASE_URL={redact_url(url)} is not a usable database URL: "
                          f"{scrub(str(exc), url)}") from None


def _make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


@contextmanager
def connect_errors_as_config(url: str) -> Iterator[None]:
    """A database that cannot be reached is a setting to fix: one clean line naming it (password hidden)."""
    from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError

    from bookctl.config import redact_url, scrub
    from bookctl.errors import ConfigError

    try:
        yield
    except (OperationalError, InterfaceError, ProgrammingError) as exc:  # ProgrammingError: a bad URL option
        reason = (str(exc.orig) if exc.orig is not None else str(exc)).strip().splitlines() or ["unknown error"]
        raise ConfigError(f"cannot use the database BOOKCTL_DATABASE_URL={redact_url(url)}: {scrub(reason[0], url)}") from None


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers (the API) never block the writer (sync)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
