"""The `bookctl` command line: one module per command group, each command a thin wrapper."""

from __future__ import annotations

import json
import sys

import typer

from bookctl.errors import BookctlError, ContentError

app = typer.Typer(
    name="bookctl", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="Content pipeline and learner API for a personalized, interactive textbook.",
)


def _register() -> None:
    from bookctl.cli import book, db, serve

    book.register(app)
    app.add_typer(db.app, name="db")
    serve.register(app)
    __import__("bookctl.cli.search", fromlist=["register"]).register(app)
    __import__("bookctl.cli.personalize", fromlist=["register"]).register(app)


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point: the one place where bookctl errors become a message and an exit code.

    Click (vendored by Typer) handles usage errors itself (exit 2); bookctl's own errors pass through it.
    """
    args = sys.argv[1:] if argv is None else argv
    try:
        app(args=args, prog_name="bookctl")
    except BookctlError as exc:
        _report(exc, as_json="--json" in args)
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        sys.stderr.write("bookctl: interrupted\n")
        raise SystemExit(130) from None


def _report(exc: BookctlError, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps({"error": exc.kind, "message": exc.message, "detail": exc.detail}, default=str) + "\n")
    if isinstance(exc, ContentError):
        for problem in exc.problems:
            sys.stderr.write(f"{problem}\n")
        errors = sum(1 for p in exc.problems if p.severity == "error")
        sys.stderr.write(f"bookctl: {errors} error(s) in the book; nothing was written\n")
    else:
        sys.stderr.write(f"bookctl: {exc.message}\n")
