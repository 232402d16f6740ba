"""Alembic, driven from code: `bookctl db upgrade|downgrade|current` and auto-migration of the embedded DB."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from bookctl.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    # '%' must be escaped for ConfigParser; a password may contain it.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, url: str, revision: str = "head") -> str | None:
    config = alembic_config(url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    return current_revision(engine)


def downgrade(engine: Engine, url: str, revision: str) -> str | None:
    config = alembic_config(url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
    return current_revision(engine)


def ensure_schema(engine: Engine, url: str, auto: bool) -> None:
    """Make sure the database is at head: migrate it when `auto` (the embedded default), else say how."""
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
