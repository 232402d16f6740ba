"""`bookctl personalize`: pre-generate personalized variants (plan, run, or submit/collect a Batch API job)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from bookctl.cli.common import BookOpt, JsonOpt, console, emit, progress_bar, settings


def register(app: typer.Typer) -> None:
    app.command()(personalize)


def personalize(
    book: BookOpt = None,
    as_json: JsonOpt = False,
    profiles: Annotated[str, typer.Option(
        "--profiles", help="top:N (most common learner profiles), matrix:field=a,b;field=x,y, or a JSON/YAML file.")] = "top:8",
    lessons: Annotated[list[str] | None, typer.Option(
        "--lessons", help="Only these lessons: slug, route, prefix or glob (repeatable, or comma-separated).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan with token and cost estimates; call nothing.")] = False,
    batch: Annotated[bool, typer.Option("--batch", help="Submit through the OpenAI Batch API (half price) instead.")] = False,
    collect: Annotated[str | None, typer.Option("--collect", metavar="BATCH_ID",
                                                help="Write a finished batch's results into the cache (idempotent).")] = None,
    prune: Annotated[bool, typer.Option("--prune", help="Delete variants of older lesson bodies or prompt versions.")] = False,
    concurrency: Annotated[int | None, typer.Option("--concurrency", min=1,
                                                    help="LLM calls in flight (default BOOKCTL_PERSONALIZE_CONCURRENCY).")] = None,
) -> None:
    """Pre-generate the shared variants learners will ask for. Cached variants are skipped (re-runs are free)."""
    from bookctl.llm.generate import OpenAIGenerator
    from bookctl.personalization import pregenerate
    from bookctl.runtime import Runtime

    pregenerate.check_modes(batch=batch, dry_run=dry_run, collect=collect)  # before any settings or database
    s = settings(book)
    patterns = [p for item in (lessons or []) for p in item.split(",") if p.strip()] or None
    generating = not (prune or collect or dry_run or batch)
    runtime = Runtime.open(s)
    try:
        with progress_bar("personalizing", enabled=generating and not as_json) as on_progress:
            data = pregenerate.personalize(runtime, OpenAIGenerator.from_settings(s), profiles=profiles,
                                           lessons=patterns, dry_run=dry_run, batch=batch, collect=collect,
                                           prune=prune, concurrency=concurrency, on_progress=on_progress)
    finally:
        runtime.close()
    render = (_render_prune if prune else _render_collect if collect else _render_plan if dry_run
              else _render_batch if batch else _render_run)
    emit(data, as_json, render)
    if (collect or generating) and data["failed"]:
        raise typer.Exit(1)


def _render_prune(data: dict[str, Any]) -> None:
    out = console()
    verb = "would delete" if data["dry_run"] else "deleted"
    for v in data["variants"]:
        out.print(f"{verb} {v['lesson']} (profile {v['profile']}, prompt {v['prompt_version']}, {v['model']})", markup=False)
    count = data["would_prune"] if data["dry_run"] else data["pruned"]
    out.print(f"{'would prune' if data['dry_run'] else 'pruned'} {count} stale variants")


def _summary(data: dict[str, Any]) -> str:
    return (f"[bold]{data['book']}[/]: {data['lessons']} lessons x {len(data['profiles'])} profiles = {data['variants']} "
            f"variants; {data['cached']} cached, {data['to_generate']} to generate"
            + (f", {data['pending_in_batch']} pending in a batch" if data.get("pending_in_batch") else "")
            + f" ({data['model']}, prompt {data['prompt_version']})")


def _render_plan(data: dict[str, Any]) -> None:
    out = console()
    for p in data["profiles"]:
        who = f"{p['learners']} learners" if p["learners"] is not None else "declared"
        out.print(f"profile {p['label']} [dim]({who}, {p['hash'][:12]})[/]")
    for item in data["plan"]:
        out.print(f"would generate {item['lesson']}  [dim]{item['profile']}: {item['calls']} call(s), "
                  f"~{item['tokens_in']} in / ~{item['tokens_out']} out[/]", soft_wrap=True)
    out.print(_summary(data))
    est = data["estimate"]
    price = "unknown (model not in the price table)" if est["cost_usd"] is None else f"${est['cost_usd']:.4f}"
    out.print(f"estimate: {data['llm_calls']} LLM calls, {est['tokens_in']} tokens in, ~{est['tokens_out']} tokens out, "
              f"cost {price}{' (batch price)' if est['batch'] else ''}")
    out.print(f"[dim]{est['note']}[/]")


def _render_run(data: dict[str, Any]) -> None:
    out = console()
    for f in data["failed"]:
        out.print(f"[red]failed[/] {f['lesson']} ({f['profile']}): {f['message']}", soft_wrap=True)
    out.print(_summary(data))
    out.print(f"generated {data['generated']}, failed {len(data['failed'])} in {data['seconds']}s; "
              f"{data['llm_calls_made']} LLM calls")


def _render_batch(data: dict[str, Any]) -> None:
    out = console()
    out.print(_summary(data))
    b = data["batch"]
    if b["batch_id"] is None:
        out.print("nothing to submit: every variant is cached or pending")
    else:
        out.print(f"submitted batch [bold]{b['batch_id']}[/]: {b['requests']} requests for {b['variants']} variants; "
                  f"collect with `bookctl personalize --collect {b['batch_id']}`")


def _render_collect(data: dict[str, Any]) -> None:
    out = console()
    if not data["collected"]:
        out.print(f"batch {data['batch_id']} is {data['status']}; nothing collected yet")
        return
    for f in data["failed"]:
        out.print(f"[red]failed[/] {f.get('lesson', f.get('key'))}: {f.get('message', f.get('error'))}", soft_wrap=True)
    out.print(f"batch {data['batch_id']}: wrote {data['written']}, already cached {data['skipped']}, "
              f"stale {data['stale']}, failed {len(data['failed'])}")
