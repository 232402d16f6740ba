"""The `bookctl` command line: one module per command group, each command a thin wrapper."""

from __future__ import annotations

import json
import sys

from bookctl.errors import BookctlError, ContentError


def main(argv: list[str] | None = None) -> None:
    """Entry point: the one place where bookctl errors become a message and an exit code.

    Click (vendored by Typer) handles usage errors itself (exit 2); bookctl's own errors pass through it.
    """
    args = sys.argv[1:] if argv is None else argv
    try:
        if _quick_noop_sync(args) or _quick_noop_embed(args):
            return
        from bookctl.cli.app import app  # Typer (and the pydantic it loads) only when a command needs it

        app(args=args, prog_name="bookctl")
    except BookctlError as exc:
        _report(exc, as_json="--json" in args)
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        sys.stderr.write("bookctl: interrupted\n")
        raise SystemExit(130) from None


def _quick_noop_sync(args: list[str]) -> bool:
    """Answer `bookctl sync [--json] [--book DIR]` from its receipt when nothing changed, before Typer runs.

    Typer 0.29 imports pydantic to coerce option values (~100-130 ms of CPU), about as much as a proven
    no-op sync of a 1,000-lesson book costs in all. Any other form of the command, or a sync with work to
    do, returns False and goes through Typer as usual.
    """
    if not args or args[0] != "sync":
        return False
    book, as_json, rest, i = None, False, args[1:], 0
    while i < len(rest):
        arg = rest[i]
        if arg == "--json":
            as_json = True
        elif arg == "--book" and i + 1 < len(rest):
            book, i = rest[i + 1], i + 1
        elif arg.startswith("--book="):
            book = arg.split("=", 1)[1]
        else:  # --dry-run, --help, anything else: Typer's business
            return False
        i += 1
    from pathlib import Path

    from bookctl.config import load_settings
    from bookctl.pipeline import receipt

    unchanged = receipt.try_noop(load_settings().with_book(Path(book) if book is not None else None))
    if unchanged is None:
        return False
    if as_json:
        sys.stdout.write(json.dumps(unchanged, default=str, sort_keys=True) + "\n")
    else:
        from bookctl.cli.book import render_sync

        render_sync(unchanged)
    return True


def _quick_noop_embed(args: list[str]) -> bool:
    """Answer `bookctl embed [--json] [--book DIR]` from the database when every lesson is embedded already,
    before Typer, numpy, tiktoken or SQLAlchemy are imported (bookctl.pipeline.embed_quick). Anything else,
    or an embed with work to do, returns False and goes through Typer as usual."""
    parsed = _book_and_json(args, "embed")
    if parsed is None:
        return False
    book, as_json = parsed
    from pathlib import Path

    from bookctl.config import load_settings
    from bookctl.curriculum.outline import book_slug
    from bookctl.errors import ConfigError
    from bookctl.llm.embedders import embedder_name
    from bookctl.pipeline.embed_quick import try_noop_embed

    settings = load_settings().with_book(Path(book) if book is not None else None)
    try:
        model = embedder_name(settings)
    except ConfigError:
        return False  # the full command reports it
    unchanged = try_noop_embed(settings, model, book_slug(settings.book_dir, settings.book_slug or None))
    if unchanged is None:
        return False
    if as_json:
        sys.stdout.write(json.dumps(unchanged, default=str, sort_keys=True) + "\n")
    else:
        from bookctl.cli.search import render_embed

        render_embed(unchanged)
    return True


def _book_and_json(args: list[str], command: str) -> tuple[str | None, bool] | None:
    """(--book value, --json) when args are exactly `command [--json] [--book DIR]`, else None."""
    if not args or args[0] != command:
        return None
    book, as_json, rest, i = None, False, args[1:], 0
    while i < len(rest):
        arg = rest[i]
        if arg == "--json":
            as_json = True
        elif arg == "--book" and i + 1 < len(rest):
            book, i = rest[i + 1], i + 1
        elif arg.startswith("--book="):
            book = arg.split("=", 1)[1]
        else:  # --dry-run, --full, --help, anything else: Typer's business
            return None
        i += 1
    return book, as_json


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
