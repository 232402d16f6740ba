"""The Typer app: every command group registered on one `app` (imported by `bookctl.cli.main` when needed)."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="bookctl", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="Content pipeline and learner API for a personalized, interactive textbook.",
)


def _register() -> None:
    from bookctl.cli import book, db, mcp, personalize, review, search, serve

    book.register(app)
    app.add_typer(db.app, name="db")
    app.add_typer(mcp.app, name="mcp")
    serve.register(app)
    search.register(app)
    personalize.register(app)
    review.register(app)


_register()
