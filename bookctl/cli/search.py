"""`bookctl embed` and `bookctl search`: thin wrappers over bookctl.pipeline.embed and bookctl.search."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from bookctl.cli.common import (
    BookOpt, FormatOpt, JsonOpt, console, emit, output_format, progress_bar, report, require_book, settings,
)


def register(app: typer.Typer) -> None:
    app.command()(embed)
    app.command()(search)


def book_slug(s) -> str:
    from bookctl.curriculum.outline import book_slug as slug_of  # the outline alone: not the loader (YAML, ...)

    return slug_of(s.book_dir, s.book_slug or None)


def embed(
    book: BookOpt = None,
    as_json: JsonOpt = False,
    full: Annotated[bool, typer.Option("--full", help="Re-chunk and re-embed every lesson, ignoring the cache.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan (chunks, embeddings, requests); write nothing.")] = False,
    prune: Annotated[bool, typer.Option("--prune", help="Only delete cached vectors no chunk uses any more; embed nothing.")] = False,
    fmt: FormatOpt = None,
) -> None:
    """Chunk and embed changed lessons only; delete stale chunks."""
    from bookctl.llm.embedders import make_embedder
    from bookctl.pipeline.embed import embed_book, prune_cache
    from bookctl.runtime import Runtime

    out = output_format(fmt, as_json)
    as_json = out == "json"
    s = settings(book)
    if prune:
        runtime = Runtime.open(s)
        try:
            removed = prune_cache(runtime)
        finally:
            runtime.close()
        emit({"pruned": removed}, as_json, lambda d: console().print(f"pruned {d['pruned']} unused cached vectors"))
        return
    embedder = make_embedder(s)
    slug = book_slug(s)
    runtime = Runtime.open(s)
    try:
        with progress_bar("embedding", enabled=out == "text", unit="chunks") as on_progress:
            result = embed_book(runtime, slug, embedder, full=full, dry_run=dry_run, chunk_tokens=s.chunk_tokens,
                                on_progress=on_progress)
    finally:
        runtime.close()
    report("embed", result.as_dict(), out, render_embed, s.book_dir)


def render_embed(data: dict[str, Any]) -> None:
    out = console()
    if data["dry_run"]:
        for item in data["plan"]:
            out.print(f"would chunk {item['slug']}: {item['chunks']} chunks, {item['embed']} to embed", soft_wrap=True)
    verb = "would embed" if data["dry_run"] else "embedded"
    out.print(f"{verb} [bold]{data['book']}[/] with {data['model']}: {data['lessons']} lessons ({data['changed']} changed), "
              f"{data['chunks']} chunks; embedded {data['embedded']}, skipped {data['skipped']}, deleted {data['deleted']}; "
              f"{data['requests']} request(s)")


def search(
    query: Annotated[str, typer.Argument(help="What to look for, in your own words.")],
    book: BookOpt = None,
    as_json: JsonOpt = False,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many lessons to return (1-50).")] = 10,
    part: Annotated[int | None, typer.Option("--part", help="Only this part number.")] = None,
    chapter: Annotated[int | None, typer.Option("--chapter", help="Only this chapter number.")] = None,
    layer: Annotated[str | None, typer.Option("--layer", help="Only this layer (L1, L2...).")] = None,
    lesson_type: Annotated[str | None, typer.Option("--type", help="Only lesson|lab|summary|index.")] = None,
) -> None:
    """Search the book: the same hybrid search POST /api/search serves."""
    from bookctl.llm.embedders import make_embedder
    from bookctl.pipeline.embed import embed_coverage_warning
    from bookctl.runtime import Runtime
    from bookctl.search.query import search as run_search, validate

    s = settings(book)
    require_book(s)
    request = validate(query, limit, {"part": part, "chapter": chapter, "layer": layer, "type": lesson_type})
    embedder = make_embedder(s)
    slug = book_slug(s)
    runtime = Runtime.open(s)
    try:
        with runtime.session() as session:
            response = run_search(session, request, embedder, book_slug=slug)
            partial = embed_coverage_warning(session, slug)
    finally:
        runtime.close()
    data = response.as_dict()
    if partial:
        data["warning"] = partial
        import sys

        sys.stderr.write(f"bookctl: warning: {partial}\n")
    emit(data, as_json, _render_search)


def _render_search(data: dict[str, Any]) -> None:
    out = console()
    if data["note"]:
        out.print(f"[yellow]note:[/] {data['note']}", soft_wrap=True)
    if not data["results"]:
        out.print("no results")
    for i, hit in enumerate(data["results"], start=1):
        out.print(f"[bold]{i}. {hit['title']}[/]  [dim]{hit['slug']}  {hit['route'] or ''}  score {hit['score']:.4f}[/]",
                  soft_wrap=True)
        out.print(f"   [cyan]{hit['heading_path']}[/]", soft_wrap=True)
        passage = " ".join(hit["passage"].split())
        out.print(f"   {passage[:240]}{'…' if len(passage) > 240 else ''}", soft_wrap=True)
