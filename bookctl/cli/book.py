"""Editor commands on the book itself: check, sync, status."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from bookctl.cli.common import BookOpt, JsonOpt, console, emit, progress_bar, settings


def register(app: typer.Typer) -> None:
    app.command()(check)
    app.command()(sync)
    app.command()(status)


def check(book: BookOpt = None, as_json: JsonOpt = False) -> None:
    """Parse and validate the book; print every problem with file:line. Writes nothing."""
    from bookctl.pipeline.check import check as run_check

    s = settings(book)
    result = run_check(s.book_dir, s.route_base, s.book_slug or None)
    emit(result.as_dict(), as_json, _render_check)
    if not result.ok:
        raise typer.Exit(1)


def _render_check(data: dict[str, Any]) -> None:
    out = console()
    for p in data["problems"]:
        where = f"{p['path']}:{p['line']}" if p["line"] else p["path"]
        style = {"error": "red", "warning": "yellow"}.get(p["severity"], "dim")
        out.print(f"[{style}]{where}: {p['severity']}: {p['message']}[/]", soft_wrap=True)
    verdict = "[green]ok[/]" if data["ok"] else "[red]failed[/]"
    out.print(f"{verdict}: {data['parts']} parts, {data['chapters']} chapters, {data['lessons']} lessons "
              f"({data['written']} written, {data['planned']} planned); {data['errors']} errors, {data['warnings']} warnings", soft_wrap=True)


def sync(
    book: BookOpt = None,
    as_json: JsonOpt = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; write nothing.")] = False,
    allow_mass_delete: Annotated[bool, typer.Option(
        "--allow-mass-delete", help="Sync even when most written lessons would leave the site "
                                    "(more than BOOKCTL_MAX_DELETE_SHARE, default 0.5).")] = False,
) -> None:
    """Upsert the book tables and upload changed lesson bodies; remove what disappeared."""
    from bookctl.pipeline import receipt

    s = settings(book)
    if not dry_run and (unchanged := receipt.try_noop(s)) is not None:
        # Proven no-op (same files, same rows, same objects as the last sync): skip parsing and the ORM.
        emit(unchanged, as_json, render_sync)
        return

    from bookctl.curriculum import parse_book
    from bookctl.pipeline.sync import run_sync
    from bookctl.runtime import Runtime

    parsed, warnings = parse_book(s.book_dir, s.route_base, s.book_slug or None)  # refuse before any write
    runtime = Runtime.open(s)

    def write_receipt(result) -> None:
        receipt.write_receipt(s, result.as_dict())

    try:
        with progress_bar("uploading", enabled=not as_json) as on_upload:
            result = run_sync(runtime, parsed, dry_run=dry_run, warnings=warnings, on_upload=on_upload,
                              on_done=write_receipt, allow_mass_delete=allow_mass_delete)
    finally:
        runtime.close()
    emit(result.as_dict(), as_json, render_sync)


def render_sync(data: dict[str, Any]) -> None:
    out = console()
    if data["dry_run"]:
        for item in data["plan"]:
            out.print(f"would {item['action']} {item['slug']}  [dim]{item['key']}[/]", soft_wrap=True)
    verb = "would sync" if data["dry_run"] else "synced"
    out.print(
        f"{verb} [bold]{data['book']}[/]: {data['parts']} parts, {data['chapters']} chapters, {data['lessons']} lessons "
        f"({data['planned']} planned); created {data['created']}, updated {data['updated']}, unchanged {data['unchanged']}, "
        f"deleted {data['deleted']}; uploaded {data['uploaded']}"
    )


def status(book: BookOpt = None, as_json: JsonOpt = False) -> None:
    """What is synced, and what is stale (edited, added or removed since the last sync)."""
    from bookctl.pipeline.status import status as run_status
    from bookctl.runtime import Runtime

    s = settings(book)
    runtime = Runtime.open(s)
    try:
        result = run_status(runtime, s.book_dir, s.route_base, s.book_slug or None)
    finally:
        runtime.close()
    emit(result, as_json, _render_status)


def _render_status(data: dict[str, Any]) -> None:
    out = console()
    if not data["synced_book"]:
        out.print(f"[yellow]{data['book']} has never been synced[/]: run `bookctl sync`")
    db = data["database"]
    out.print(f"[bold]{data['book']}[/]: {db['parts']} parts, {db['chapters']} chapters, "
              f"{db['lessons']} lessons ({db['written']} written, {db['planned']} planned) in the database")
    st = data["stale"]
    out.print(f"synced: {data['synced']}; stale: {st['changed']} changed, {st['new']} new, {st['removed']} removed"
              + ("" if data["book_readable"] else " [red](the book has errors: run `bookctl check`)[/]"))
    for section, values in data.get("stages", {}).items():
        out.print(f"{section}: " + ", ".join(f"{k} {v}" for k, v in values.items()))
