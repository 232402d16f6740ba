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

        if "--json" in args:
            _run_json(app, args)
        else:
            app(args=args, prog_name="bookctl")
    except BookctlError as exc:
        _report(exc, as_json=_wants_json(args), args=list(args))
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        sys.stderr.write("bookctl: interrupted\n")
        raise SystemExit(130) from None
    finally:
        if argv is None:  # the process ends with this command (not a caller running main in-process)
            # The interpreter's last garbage collection at exit walks every object the command made (ORM
            # classes, the OpenAI client's pydantic models): 0.2-0.4 s of CPU after a one-edit embed, for
            # nothing (files are closed and transactions committed by now). Frozen objects are skipped by it.
            import gc

            gc.freeze()


def _run_json(app, args: list[str]) -> None:
    """With --json, a usage error is one JSON object on stdout (exit 2), like every other error, not a styled box."""
    import typer

    try:
        code = app(args=args, prog_name="bookctl", standalone_mode=False)
        if isinstance(code, int) and code:  # Click returns typer.Exit(code)'s code when not standalone
            raise SystemExit(code)
    except typer.Exit as exc:  # typer.Exit(code) from a command
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        sys.stderr.write("bookctl: aborted\n")
        raise SystemExit(1) from None
    except BookctlError:
        raise
    except Exception as exc:
        # Click's own errors (bad option, missing argument, unknown command): Typer vendors Click and exports
        # no class for them, so they are known by Click's public interface, format_message() and exit_code.
        if not (callable(getattr(exc, "format_message", None)) and isinstance(getattr(exc, "exit_code", None), int)):
            raise
        message = exc.format_message()
        sys.stdout.write(json.dumps({"error": "usage_error", "message": message, "detail": {}}) + "\n")
        sys.stderr.write(f"bookctl: {message}\n")
        raise SystemExit(exc.exit_code) from None


def _quick_noop_sync(args: list[str]) -> bool:
    """Run `bookctl sync [--json] [--book DIR]` without Typer: answered from its receipt when nothing changed,
    else the full sync is called directly with the fingerprint already taken.

    Typer 0.29 imports pydantic to coerce option values (~100-130 ms of CPU), about as much as a proven
    no-op sync of a 1,000-lesson book costs in all; this form has no option left to coerce. Any other form
    of the command returns False and goes through Typer as usual.
    """
    parsed = _book_and_json(args, "sync")
    if parsed is None:
        return False
    book, as_json = parsed
    from pathlib import Path

    from bookctl.config import load_settings
    from bookctl.pipeline import receipt

    settings = load_settings().with_book(Path(book) if book is not None else None)
    fingerprint = receipt.fingerprint_or_none(settings)  # before parsing, once (see cli.book.sync)
    unchanged = receipt.try_noop(settings, fingerprint)
    if unchanged is None:
        from bookctl.cli.book import full_sync

        _call(full_sync, settings, "json" if as_json else "text", fingerprint)
        return True
    if as_json:
        sys.stdout.write(json.dumps(unchanged, default=str, sort_keys=True) + "\n")
    else:
        from bookctl.cli.book import render_sync

        render_sync(unchanged)
    return True


def _call(command, *args, **kwargs) -> None:
    """Call a command's function as Typer would (its typer.Exit(code) becomes the exit code)."""
    import typer

    try:
        command(*args, **kwargs)
    except typer.Exit as exc:
        if exc.exit_code:
            raise SystemExit(exc.exit_code) from None


def _wants_json(args: list[str]) -> bool:
    """`--json` or its long form `--format json` / `--format=json`: errors then come as one JSON object too."""
    pairs = zip(args, args[1:])
    return "--json" in args or "--format=json" in args or any(a == "--format" and b == "json" for a, b in pairs)


def _option(args: list[str], name: str) -> str | None:
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _annotate(exc: ContentError, args: list[str]) -> None:
    from pathlib import Path

    from bookctl.config import load_settings
    from bookctl.reporting import Context
    from bookctl.reporting.findings import findings
    from bookctl.reporting.github import annotation

    book = _option(args, "--book")
    context = Context.from_env(load_settings().with_book(Path(book) if book else None).book_dir)
    for finding in findings("check", {"problems": [p.as_dict() for p in exc.problems]}, context):
        sys.stdout.write(annotation(finding) + "\n")


def _quick_noop_embed(args: list[str]) -> bool:
    """Run `bookctl embed [--json] [--book DIR]` without Typer: answered from the database when every lesson is
    embedded already, before numpy, tiktoken or SQLAlchemy are imported (bookctl.pipeline.embed_quick), else
    the command's function is called directly. Any other form returns False and goes through Typer as usual."""
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
    if unchanged is None:  # work to do: the command itself, without Typer's parsing (see _quick_noop_sync)
        from bookctl.cli.search import embed

        _call(embed, book=Path(book) if book is not None else None, as_json=as_json)
        return True
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


def _report(exc: BookctlError, as_json: bool, args: list[str] = ()) -> None:
    if as_json:
        sys.stdout.write(json.dumps({"error": exc.kind, "message": exc.message, "detail": exc.detail}, default=str) + "\n")
    if isinstance(exc, ContentError) and _option(args, "--format") == "github":
        _annotate(exc, args)  # a sync refusing a broken book: errors on the lines in CI too
    if isinstance(exc, ContentError):
        for problem in exc.problems:
            sys.stderr.write(f"{problem}\n")
        errors = sum(1 for p in exc.problems if p.severity == "error")
        sys.stderr.write(f"bookctl: {errors} error(s) in the book; nothing was written\n")
    else:
        sys.stderr.write(f"bookctl: {exc.message}\n")
