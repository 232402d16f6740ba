"""The Typer app: every command group registered on one `app` (imported by `bookctl.cli.main` when needed)."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="bookctl", no_args_is_help=True, add_completion=True, pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Content pipeline and learner API for a personalized, interactive textbook.",
)


def _version(value: bool) -> None:
    if value:
        from bookctl import __version__

        typer.echo(f"bookctl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", is_eager=True, callback=_version,
                                       help="Print bookctl's version and exit.")) -> None:
    """Content pipeline and learner API for a personalized, interactive textbook."""


def _register() -> None:
    from bookctl.cli import book, db, mcp, models, personalize, redirects, review, search, serve

    book.register(app)
    app.add_typer(db.app, name="db")
    app.add_typer(mcp.app, name="mcp")
    app.add_typer(models.app, name="models")
    serve.register(app)
    search.register(app)
    personalize.register(app)
    review.register(app)
    redirects.register(app)


_register()
