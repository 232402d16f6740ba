"""Editor commands on the book itself: check, sync, status."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from bookctl.cli.common import (
    BookOpt, FormatOpt, JsonOpt, console, err_console, output_format, progress_bar, report, settings,
)

FAIL_ON = ("moved", "removed")


def register(app: typer.Typer) -> None:
    app.command()(check)
    app.command()(sync)
    app.command()(status)


def check(book: BookOpt = None, as_json: JsonOpt = False, fmt: FormatOpt = None) -> None:
    """Parse and validate the book; print every problem with file:line. Writes nothing."""
    from bookctl.pipeline.check import check as run_check

    out = output_format(fmt, as_json)
    s = settings(book)
    result = run_check(s.book_dir, s.route_base, s.book_slug or None)
    report("check", result.as_dict(), out, _render_check, s.book_dir)
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
    verify: Annotated[bool, typer.Option("--verify", help="Check every recorded object (present, hash matches); "
                                         "re-upload what is missing or wrong and delete orphans.")] = False,
    fmt: FormatOpt = None,
    fail_on: Annotated[list[str] | None, typer.Option(
        "--fail-on", help="moved and/or removed (repeatable or comma-separated): exit 1, and write nothing, "
                          "when the book would move or remove a lesson URL.")] = None,
    allow_mass_delete: Annotated[bool, typer.Option(
        "--allow-mass-delete", help="Sync even when most written lessons would leave the site "
                                    "(more than BOOKCTL_MAX_DELETE_SHARE, default 0.5).")] = False,
) -> None:
    """Upsert the book tables and upload changed lesson bodies; remove what disappeared."""
    from bookctl.pipeline import receipt

    out = output_format(fmt, as_json)
    kinds = _fail_on(fail_on)
    s = settings(book)
    if not dry_run and not verify and (unchanged := receipt.try_noop(s)) is not None:
        # Proven no-op (same files, same rows, same store as the last sync): skip parsing and the ORM.
        unchanged = {**unchanged, "changes": [], "moved": [], "removed": [], "failed_on": []}
        report("sync", unchanged, out, render_sync, s.book_dir)
        return

    from bookctl.curriculum import parse_book
    from bookctl.pipeline.sync import run_sync
    from bookctl.runtime import Runtime

    try:  # before parsing: a file edited during the sync makes the receipt miss next time, never match wrongly
        fingerprint = receipt.fingerprint(s)
    except OSError:
        fingerprint = None
    parsed, warnings = parse_book(s.book_dir, s.route_base, s.book_slug or None)  # refuse before any write
    runtime = Runtime.open(s)
    try:
        with progress_bar("uploading", enabled=out == "text") as on_upload:
            result = run_sync(runtime, parsed, dry_run=dry_run, warnings=warnings, on_upload=on_upload,
                              verify=verify, fingerprint=fingerprint, fail_on=kinds,
                              allow_mass_delete=allow_mass_delete)
        if result.dry_run and out == "markdown":
            _estimate(runtime, s, parsed, result)
    finally:
        runtime.close()
    report("sync", result.as_dict(), out, render_sync, s.book_dir)
    if result.failed_on:
        raise typer.Exit(1)


def _fail_on(values: list[str] | None) -> frozenset[str]:
    from bookctl.errors import UsageError

    kinds = {v.strip().lower() for item in (values or []) for v in item.split(",") if v.strip()}
    unknown = kinds - set(FAIL_ON)
    if unknown:
        raise UsageError(f"--fail-on takes {' or '.join(FAIL_ON)}; got {', '.join(sorted(unknown))}")
    return frozenset(kinds)


def _estimate(runtime, s, parsed, result) -> None:
    """The job summary's downstream costs: embedding work and personalized variants made stale."""
    from bookctl.llm.embedders import make_embedder
    from bookctl.pipeline.personalize import load_prices
    from bookctl.pipeline.plan_estimate import estimate

    estimate(runtime, parsed, result, make_embedder(s), chunk_tokens=s.chunk_tokens, llm_model=s.llm_model,
             prices=load_prices(s.llm_price_table))


def render_sync(data: dict[str, Any]) -> None:
    out = console()
    if data["dry_run"]:
        for item in data["plan"]:
            out.print(f"would {item['action']} {item['slug']}  [dim]{item['key']}[/]", soft_wrap=True)
    for move in data.get("moved", []):
        out.print(f"[yellow]moved[/] {move['old_route']} -> {move['new_route']}  [dim]{move['slug']}[/]", soft_wrap=True)
    for gone in data.get("removed", []):
        out.print(f"[yellow]removed[/] {gone['old_route']}  [dim]{gone['slug']}[/]", soft_wrap=True)
    if data.get("failed_on"):
        err_console().print(f"[red]refused[/] by --fail-on {','.join(data['failed_on'])}: nothing was written", soft_wrap=True)
    verb = "would sync" if data["dry_run"] else "synced"
    out.print(
        f"{verb} [bold]{data['book']}[/]: {data['parts']} parts, {data['chapters']} chapters, {data['lessons']} lessons "
        f"({data['planned']} planned); created {data['created']}, updated {data['updated']}, unchanged {data['unchanged']}, "
        f"deleted {data['deleted']}; uploaded {data['uploaded']}"
        + (f", repaired {data['repaired']}" if data.get("repaired") else "")
        + (f"; {data['objects_deleted']} stale object(s) deleted" if data.get("objects_deleted") else "")
    )


def status(book: BookOpt = None, as_json: JsonOpt = False, fmt: FormatOpt = None) -> None:
    """What is synced, and what is stale (edited, added or removed since the last sync)."""
    from bookctl.pipeline.status import status as run_status
    from bookctl.runtime import Runtime

    out = output_format(fmt, as_json)
    s = settings(book)
    runtime = Runtime.open(s)
    try:
        result = run_status(runtime, s.book_dir, s.route_base, s.book_slug or None)
    finally:
        runtime.close()
    report("status", result, out, _render_status, s.book_dir)


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
    objects = data.get("objects") or {}
    if "error" in objects:
        out.print(f"[red]objects: {objects['error']}[/]", soft_wrap=True)
    elif objects:
        style = "red" if objects["missing"] else "yellow" if objects["orphans"] else "green"
        out.print(f"[{style}]objects in {objects['store']}: {objects['recorded']} recorded, {objects['missing']} missing, "
                  f"{objects['orphans']} orphan[/]" + (" (run `bookctl sync --verify`)" if objects["missing"] or objects["orphans"] else ""),
                  soft_wrap=True)
    for section, values in data.get("stages", {}).items():
        out.print(f"{section}: " + ", ".join(f"{k} {v}" for k, v in values.items()))
