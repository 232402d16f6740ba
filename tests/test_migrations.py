"""Migrations on SQLite and PostgreSQL: head -> base -> head through the CLI; models and migrations agree.

Written against head/base, never a fixed table list: later migrations are covered as they are added.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from bookctl.db.engine import make_engine
from bookctl.db.migrate import alembic_config, head_revision
from tests.conftest import make_workspace


def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return {t for t in inspect(engine).get_table_names() if not t.startswith(("sqlite_", "alembic_version"))}
    finally:
        engine.dispose()


def autogenerate_check(url: str) -> None:
    """Alembic's own `check`: runs autogenerate through bookctl/migrations/env.py and raises on any difference."""
    config = alembic_config(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            config.attributes["connection"] = conn
            command.check(config)
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade_via_cli(tmp_path: Path, fixture_book: Path, db_url: str) -> None:
    ws = make_workspace(tmp_path / "ws", fixture_book, db_url)
    head = head_revision(db_url)
    assert head is not None

    current = ws.run("db", "current", "--json")
    assert current.code == 0 and current.json == {"revision": None, "head": head, "up_to_date": False}

    up = ws.run("db", "upgrade", "--json")
    assert up.code == 0 and up.json == {"revision": head}
    created = tables(db_url)
    assert {"books", "parts", "chapters", "lessons", "users", "user_preferences", "user_progress",
            "personalized_content_cache"} <= created
    assert ws.run("db", "current", "--json").json["up_to_date"] is True
    autogenerate_check(db_url)
    assert ws.run("sync").code == 0  # the migrated schema is usable

    down = ws.run("db", "downgrade", "base", "--yes", "--json")
    assert down.code == 0 and down.json == {"revision": None}
    assert tables(db_url) == set()

    again = ws.run("db", "upgrade")
    assert again.code == 0 and f"database at revision {head}" in again.stdout
    assert tables(db_url) == created
    autogenerate_check(db_url)


def test_every_revision_steps_down_and_up(db_url: str) -> None:
    """Each migration's downgrade undoes exactly its upgrade (one step at a time)."""
    engine = make_engine(db_url)
    try:
        from bookctl.db.migrate import downgrade, upgrade

        script = ScriptDirectory.from_config(alembic_config(db_url))
        revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
        seen: list[set[str]] = []
        for revision in revisions:
            assert upgrade(engine, db_url, revision) == revision
            seen.append(tables(db_url))
        for index in range(len(revisions) - 1, 0, -1):
            assert downgrade(engine, db_url, "-1") == revisions[index - 1]
            assert tables(db_url) == seen[index - 1]
        assert downgrade(engine, db_url, "base") is None
        assert tables(db_url) == set()
    finally:
        engine.dispose()


def test_embedded_default_migrates_itself(workspace) -> None:
    result = workspace.run("status", "--json")
    assert result.code == 0
    current = workspace.run("db", "current", "--json")
    assert current.json["up_to_date"] is True


def test_db_commands_report_a_bad_url_cleanly(tmp_path: Path, fixture_book: Path) -> None:
    ws = make_workspace(tmp_path / "ws", fixture_book, "mysql://root:hunter2@db/x")
    result = ws.run("db", "upgrade")
    assert result.code == 2
    assert "BOOKCTL_DATABASE_URL" in result.stderr and "hunter2" not in result.stderr + result.stdout
