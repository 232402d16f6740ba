"""`bookctl db upgrade|downgrade|current`: Alembic for the configured database."""

from __future__ import annotations

from typing import Annotated

import typer

from bookctl.cli.common import JsonOpt, console, emit, settings

app = typer.Typer(help="Database migrations (Alembic) for BOOKCTL_DATABASE_URL.", no_args_is_help=True)


def connect_errors_as_config(url: str):
    from bookctl.db.engine import connect_errors_as_config as guard  # lazy: keeps `bookctl --help` light

    return guard(url)


def _engine():
    from bookctl.db.engine import make_engine

    s = settings()
    return s, make_engine(s.database_url)


@app.command()
def upgrade(revision: Annotated[str, typer.Argument()] = "head", as_json: JsonOpt = False) -> None:
    """Migrate the database up to REVISION (default: head)."""
    from bookctl.db.migrate import upgrade as run_upgrade

    s, engine = _engine()
    try:
        with connect_errors_as_config(s.database_url):
            current = run_upgrade(engine, s.database_url, revision)
    finally:
        engine.dispose()
    emit({"revision": current}, as_json, lambda d: console().print(f"database at revision {d['revision']}"))


@app.command()
def downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. base or -1.")],
    as_json: JsonOpt = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before 'base' drops every table.")] = False,
) -> None:
    """Migrate the database down to REVISION ('base' removes every table and its data: asks first, or --yes)."""
    from bookctl.db.migrate import downgrade as run_downgrade
    from bookctl.errors import UsageError

    if revision == "base" and not yes:
        import sys

        if as_json or not sys.stdin.isatty():  # CI and scripts cannot answer a prompt: they must say --yes
            raise UsageError("'db downgrade base' drops every table and all their data: pass --yes to confirm")
        typer.confirm("Downgrade to base drops every bookctl table and all their data. Continue?", abort=True)
    s, engine = _engine()
    try:
        with connect_errors_as_config(s.database_url):
            current = run_downgrade(engine, s.database_url, revision)
    finally:
        engine.dispose()
    emit({"revision": current}, as_json, lambda d: console().print(f"database at revision {d['revision'] or 'base'}"))


@app.command()
def current(as_json: JsonOpt = False) -> None:
    """Print the database's revision and the newest one bookctl knows."""
    from bookctl.db.migrate import current_revision, head_revision

    s, engine = _engine()
    try:
        with connect_errors_as_config(s.database_url):
            data = {"revision": current_revision(engine), "head": head_revision(s.database_url)}
    finally:
        engine.dispose()
    data["up_to_date"] = data["revision"] == data["head"]
    emit(data, as_json, lambda d: console().print(f"database at {d['revision'] or 'base'}; head is {d['head']}"
                                                   + ("" if d["up_to_date"] else " (run `bookctl db upgrade`)")))
