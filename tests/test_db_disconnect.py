"""Without pool pre-ping: a connection the server closed is replaced at checkout, and one lost in use is
retried once on a fresh connection (PostgreSQL, the real server)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from bookctl.db.engine import make_engine, make_session_factory, retry_on_disconnect, unit_of_work

pytestmark = pytest.mark.postgres


def _terminate_others(url: str) -> int:
    """Kill every other backend of this database, as a server restart or an idle timeout would."""
    admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=__import__("sqlalchemy.pool").pool.NullPool)
    with admin.connect() as conn:
        killed = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                   "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
    admin.dispose()
    return int(killed)


def test_no_ping_statement_and_a_killed_idle_connection_is_replaced(pg_url):
    engine = make_engine(pg_url, pool_size=1)
    statements: list[str] = []
    __import__("sqlalchemy").event.listen(engine, "before_cursor_execute",
                                          lambda *args: statements.append(args[2]))
    sessions = make_session_factory(engine)
    assert retry_on_disconnect(sessions, lambda s: s.execute(text("SELECT pg_backend_pid()")).scalar())
    statements.clear()
    first = retry_on_disconnect(sessions, lambda s: s.execute(text("SELECT pg_backend_pid()")).scalar())
    assert statements == ["SELECT pg_backend_pid()"]  # no SELECT 1 before it: the pool reused the connection
    assert _terminate_others(pg_url) >= 1
    import time

    time.sleep(0.2)  # the server's goodbye reaches the idle socket
    with unit_of_work(sessions) as session:  # no retry here: the checkout hook alone must notice
        second = session.execute(text("SELECT pg_backend_pid()")).scalar()
    assert second != first  # a new connection, and no error reached the caller
    engine.dispose()


def test_a_connection_lost_in_use_is_retried_once_and_only_once(pg_url):
    engine = make_engine(pg_url, pool_size=1)
    sessions = make_session_factory(engine)
    calls: list[int] = []

    def work(session):
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar()
        calls.append(pid)
        if len(calls) == 1:  # lose the connection mid-transaction, then use it
            _terminate_others(pg_url)
            session.execute(text("SELECT 1"))
        return pid

    assert retry_on_disconnect(sessions, work) == calls[-1] and len(calls) == 2 and calls[0] != calls[1]

    def always_lost(session):
        calls.append(0)
        session.execute(text("SELECT 1"))
        _terminate_others(pg_url)
        session.execute(text("SELECT 1"))

    calls.clear()
    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError):
        retry_on_disconnect(sessions, always_lost)
    assert len(calls) == 2  # once, then once more; then the error is reported
    engine.dispose()
