"""What every command shares: the --book/--json options, settings, output and progress rendering."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Callable, Iterator

import typer

from bookctl.config import Settings, load_settings

BookOpt = Annotated[
    Path | None,
    typer.Option("--book", help="The book's folder (curriculum.md + docs/). Default: $BOOKCTL_BOOK, else ./curriculum.",
                 show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout and nothing else.")]


class OutputFormat(str, Enum):
    text = "text"
    json = "json"
    github = "github"
    junit = "junit"
    markdown = "markdown"


FormatOpt = Annotated[OutputFormat | None, typer.Option(
    "--format", help="text (default), json (= --json), github (workflow annotations), junit (XML), "
                     "markdown (for $GITHUB_STEP_SUMMARY).", show_default=False)]


def output_format(fmt: OutputFormat | None, as_json: bool) -> str:
    """--json is the alias of --format json; the two may not disagree."""
    if as_json and fmt not in (None, OutputFormat.json):
        from bookctl.errors import UsageError

        raise UsageError(f"--json and --format {fmt.value} disagree: give one of them")
    return "json" if as_json else (fmt.value if fmt else "text")


def report(kind: str, data: dict[str, Any], fmt: str, render: Callable[[dict[str, Any]], None], book_dir: Path) -> None:
    """Print a command's result in `fmt`: text and json here, the CI formats through bookctl.reporting."""
    if fmt in ("text", "json"):
        emit(data, fmt == "json", render)
        return
    from bookctl.reporting import Context, render as render_report

    sys.stdout.write(render_report(kind, data, fmt, Context.from_env(book_dir)))


def settings(book: Path | None = None) -> Settings:
    """Settings are read once per command, here at the edge."""
    return load_settings().with_book(book)


def require_book(s: Settings) -> None:
    """Refuse (exit 2) before any database is created or migrated when --book names no book."""
    from bookctl.errors import UsageError

    root = s.book_dir
    if not root.is_dir() or not ((root / "curriculum.md").is_file() or (root / "docs").is_dir()):
        raise UsageError(f"no book at {root}: point --book (or BOOKCTL_BOOK) at a folder with docs/ (and optionally "
                         "curriculum.md)")


def emit(data: dict[str, Any], as_json: bool, render: Callable[[dict[str, Any]], None]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, default=str, sort_keys=True) + "\n")
    else:
        render(data)


def console():
    from rich.console import Console

    # soft_wrap: one message is one line, also in CI logs and pipes (rich would cut it at 80 columns)
    return Console(highlight=False, soft_wrap=True)


def err_console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


@contextmanager
def progress_bar(label: str, enabled: bool, unit: str = "") -> Iterator[Callable[..., None] | None]:
    """A rich progress bar on a terminal; nothing at all in CI, pipes or --json.

    `update(done, total, **counts)`: `done`/`total` in `unit` (with an ETA); keyword counts (e.g. chunks=412)
    are shown beside it.
    """
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TextColumn(unit), TextColumn("{task.fields[counts]}"),
                  TextColumn("ETA"), TimeRemainingColumn(), console=err_console(), transient=True) as progress:
        task = progress.add_task(label, total=None, counts="")

        def update(done: int, total: int, **counts: int) -> None:
            progress.update(task, completed=done, total=total, counts=", ".join(f"{v} {k}" for k, v in counts.items()))

        yield update
