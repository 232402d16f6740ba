"""Alembic, driven from code: `bookctl db upgrade|downgrade|current` and auto-migration of the embedded DB."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

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


def upgrade(engine: Engine, url: str, revision: str = "head") -> str | None:
    from alembic import command

    config = alembic_config(url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    return current_revision(engine)


def downgrade(engine: Engine, url: str, revision: str) -> str | None:
    from alembic import command

    config = alembic_config(url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
    return current_revision(engine)


def ensure_schema(engine: Engine, url: str, auto: bool) -> None:
    """Make sure the database is at head: migrate it when `auto` (the embedded default), else say how."""
    if _at_head_quick(engine):
        return
    current, head = current_revision(engine), head_revision(url)
    if current == head:
        return
    if auto:
        upgrade(engine, url)
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
