"""Engines and sessions. Services take a Session and flush; the edge (CLI command, request) commits."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")


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
    # No pre-ping: it was a round trip (SELECT 1) before every request's statements. A pooled connection the
    # server has closed (restart, idle timeout, pg_terminate_backend) is noticed without one (the server's
    # goodbye, or the EOF, is already waiting on the socket), and a connection that dies in use fails
    # its statement, which `retry_on_disconnect` runs again once on a fresh connection.
    engine = create_engine(url, **kwargs)
    event.listen(engine, "checkout", _drop_if_closed_by_server)
    return engine


def _drop_if_closed_by_server(dbapi_connection, _record, _proxy) -> None:
    """Checkout hook: an idle pooled connection with bytes to read was closed by the server (we never LISTEN,
    so nothing else arrives unasked). Raising DisconnectionError makes the pool connect afresh."""
    import select

    from sqlalchemy.exc import DisconnectionError

    if getattr(dbapi_connection, "closed", False) or getattr(dbapi_connection, "broken", False):
        raise DisconnectionError("connection closed")
    try:
        readable, _w, _x = select.select([dbapi_connection.fileno()], [], [], 0)
    except (OSError, ValueError) as exc:  # closed descriptor
        raise DisconnectionError(str(exc)) from None
    if readable:
        raise DisconnectionError("the server closed the connection")


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


def retry_on_disconnect(factory: sessionmaker[Session], work: Callable[[Session], T]) -> T:
    """`work(session)` in one unit of work; run again once, on a fresh connection, if the connection was lost.

    Only a lost connection is retried (SQLAlchemy has invalidated it, and the pool's older connections with
    it), and only once: a second failure is reported. `work` must be safe to run again after a failure, as
    one transaction that was rolled back (or never reached the server) is.
    """
    from sqlalchemy.exc import DBAPIError

    try:
        with unit_of_work(factory) as session:
            return work(session)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    with unit_of_work(factory) as session:
        return work(session)


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
