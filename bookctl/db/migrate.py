"""Alembic, driven from code: `bookctl db upgrade|downgrade|current` and auto-migration of the embedded DB."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

from sqlalchemy import Connection, Engine, event, inspect, text

from bookctl.db.revisions import quick_head
from bookctl.errors import ConfigError

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic itself is imported only when a migration runs: every `bookctl sync` checks the schema, and
# importing alembic (with mako) costs more than a no-op sync of a small book.


def alembic_config(url: str) -> "Config":
    """Alembic's config for `url`, with the migrations shipped inside the package (no alembic.ini needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "bookctl:migrations")
    # '%' must be escaped for ConfigParser; a password may contain it.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision(url: str) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


# How long a process waits for another one's migration (a first migration takes well under a second).
MIGRATE_LOCK_TIMEOUT = 120.0


def upgrade(engine: Engine, url: str, revision: str = "head") -> str | None:
    """Migrate to `revision` in one transaction, holding the migration lock (concurrent callers wait)."""
    from bookctl.pipeline.lock import exclusive

    with exclusive(engine, "migrate", MIGRATE_LOCK_TIMEOUT):
        _upgrade_locked(engine, url, revision)
    return current_revision(engine)


def _upgrade_locked(engine: Engine, url: str, revision: str) -> None:
    from alembic import command

    config = alembic_config(url)
    with _ddl_transaction(engine) as conn:
        _repair_half_migrated(conn)
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def downgrade(engine: Engine, url: str, revision: str) -> str | None:
    from alembic import command

    from bookctl.pipeline.lock import exclusive

    config = alembic_config(url)
    with exclusive(engine, "migrate", MIGRATE_LOCK_TIMEOUT), _ddl_transaction(engine) as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
    return current_revision(engine)


@contextmanager
def _ddl_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that really covers CREATE/ALTER/DROP, so a failed migration leaves nothing behind.

    PostgreSQL's DDL is transactional as it is. Python's sqlite3 driver only opens a transaction before
    INSERT/UPDATE/DELETE, so DDL ran in autocommit and a full disk mid-migration left tables without a
    version stamp; here the driver's own handling is switched off and SQLAlchemy's BEGIN is an explicit
    BEGIN IMMEDIATE (which also makes a second process wait for the write lock instead of racing).
    """
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    from sqlalchemy.pool import NullPool

    from bookctl.db.engine import make_engine

    ddl_engine = make_engine(engine.url.render_as_string(hide_password=False), poolclass=NullPool)

    @event.listens_for(ddl_engine, "connect")
    def _driver_hands_off(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(ddl_engine, "begin")
    def _begin_immediate(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with ddl_engine.begin() as conn:
            yield conn
    finally:
        ddl_engine.dispose()


def _repair_half_migrated(conn: Connection) -> None:
    """A database with bookctl's tables but no version stamp was left by an interrupted first migration
    (before migrations were transactional). Empty, it is cleared and migrated again; holding rows, it is
    explained, never guessed at."""
    names = [n for n in inspect(conn).get_table_names() if not n.startswith("sqlite_")]
    if not names or "alembic_version" in names:
        return
    from bookctl.db.base import Base

    ours = sorted(set(names) & set(Base.metadata.tables))
    if not ours:
        return  # someone else's tables: alembic's own error names them
    with_rows = [n for n in ours if conn.execute(text(f'SELECT 1 FROM "{n}" LIMIT 1')).first() is not None]
    if with_rows:
        raise ConfigError(
            f"the database holds bookctl tables ({', '.join(ours)}) but no migration stamp, so an earlier first "
            f"migration was interrupted; tables {', '.join(with_rows)} hold rows, so bookctl will not guess: "
            "back the database up, then run `bookctl db upgrade` on an empty database and copy the rows over, "
            "or delete the database file if it holds nothing you need"
        )
    _drop_all(conn, names)


def _drop_all(conn: Connection, names: list[str]) -> None:
    if conn.dialect.name == "sqlite":
        # Virtual (FTS5) tables first: dropping one drops its shadow tables with it.
        virtual = {r[0] for r in conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL%'")}
        for name in sorted(virtual):
            conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')
        for name in names:
            conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')
        return
    for name in names:
        conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}" CASCADE')


def ensure_schema(engine: Engine, url: str, auto: bool) -> None:
    """Make sure the database is at head: migrate it when `auto` (the embedded default), else say how."""
    if _at_head_quick(engine):
        return
    current, head = current_revision(engine), head_revision(url)
    if current == head:
        return
    if auto:
        from bookctl.pipeline.lock import exclusive

        # Many first commands may start at once on a new embedded database: one migrates, the rest wait
        # and then find it at head (alembic reads the stamp again inside the lock).
        with exclusive(engine, "migrate", MIGRATE_LOCK_TIMEOUT):
            if not _at_head_quick(engine):  # the process before us may have done it while we waited
                _upgrade_locked(engine, url, "head")
        return
    raise ConfigError(
        f"the database is at revision {current or 'empty'}, bookctl needs {head}: run `bookctl db upgrade` "
        "(BOOKCTL_DATABASE_URL names the database)"
    )


def _at_head_quick(engine: Engine) -> bool:
    """True when the database's one alembic_version row is the head; False means "ask alembic"."""
    head = quick_head()
    if head is None:
        return False
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return False
        versions = list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    return versions == [head]
