"""`bookctl redirects`: the old -> new lesson URL map that keeps moved lessons' old links working."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated

import typer

from bookctl.cli.common import BookOpt, JsonOpt, settings


class RedirectFormat(str, Enum):
    docusaurus = "docusaurus"
    json = "json"
    nginx = "nginx"


def register(app: typer.Typer) -> None:
    app.command()(redirects)


def redirects(
    book: BookOpt = None,
    as_json: JsonOpt = False,
    fmt: Annotated[RedirectFormat, typer.Option(
        "--format", help="docusaurus (the `redirects` option of @docusaurus/plugin-client-redirects), json, or nginx.",
    )] = RedirectFormat.json,
) -> None:
    """Print every old lesson URL with the page it lives at today (accumulated over all syncs)."""
    from bookctl.curriculum import book_slug
    from bookctl.pipeline.redirects import redirects as run_redirects
    from bookctl.reporting.redirects import render
    from bookctl.runtime import Runtime

    s = settings(book)
    runtime = Runtime.open(s)
    try:
        data = run_redirects(runtime, book_slug(s.book_dir, s.book_slug or None))
    finally:
        runtime.close()
    sys.stdout.write(render(data, "json" if as_json else fmt.value))
