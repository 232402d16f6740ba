"""Pre-generation (`bookctl personalize`): plan, run, prune, or submit/collect a Batch API job.

Resumable by construction: a variant already in the cache (same lesson content, profile, prompt and model) is
skipped, so a second run makes no LLM call. Failures are reported per variant and never cached.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any, Callable

from bookctl.errors import BookctlError, UsageError
from bookctl.llm.generate import Completion, Generator
from bookctl.personalization.plan import Plan

if TYPE_CHECKING:
    from bookctl.llm.generate import OpenAIGenerator
    from bookctl.personalization.service import PersonalizationService
    from bookctl.runtime import Runtime


def check_modes(*, batch: bool, dry_run: bool, collect: str | None) -> None:
    """Each forbidden pair on its own: --collect writes a finished batch, so neither submitting (--batch) nor
    planning (--dry-run) means anything with it."""
    if collect and batch:
        raise UsageError("--collect cannot be combined with --batch: collect a finished batch, or submit a new one")
    if collect and dry_run:
        raise UsageError("--collect cannot be combined with --dry-run: collecting only writes what the batch returned")


def personalize(runtime: "Runtime", openai: "OpenAIGenerator", *, profiles: str = "top:8",
                lessons: list[str] | None = None, dry_run: bool = False, batch: bool = False,
                collect: str | None = None, prune: bool = False, concurrency: int | None = None,
                on_progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Pre-generate the shared variants learners will ask for, and return what was planned and done (the data
    `bookctl personalize --json` prints). `openai` is the one LLM client: chat calls go through it, at most
    `concurrency` in flight, and so do the Batch API's Files/Batches calls. A result with `failed` entries means
    some variants could not be made (nothing partial was cached)."""
    from bookctl.llm.prices import load_prices
    from bookctl.personalization.batch import collect_batch, submit_batch
    from bookctl.personalization.plan import make_plan, plan_dict
    from bookctl.personalization.service import PersonalizationService
    from bookctl.personalization.stale import prune as prune_stale

    check_modes(batch=batch, dry_run=dry_run, collect=collect)
    settings = runtime.settings
    limit = concurrency or settings.personalize_concurrency
    bounded = BoundedGenerator(openai, limit)
    service = PersonalizationService(runtime.sessions, runtime.store, bounded, concurrency=limit)
    if prune:
        removed = prune_stale(runtime, settings.book_slug or None, service.prompt_version, dry_run=dry_run)
        return {"pruned": 0 if dry_run else len(removed), "would_prune": len(removed) if dry_run else 0,
                "dry_run": dry_run, "variants": removed}
    if collect:
        return collect_batch(runtime, service, collect, openai)
    plan = make_plan(runtime, service, profiles, lessons, estimate=dry_run or batch)
    prices = load_prices(settings.llm_price_table)
    data = plan_dict(plan, prices, batch=batch)
    data["dry_run"] = dry_run
    if dry_run:
        return data
    if batch:
        data["batch"] = submit_batch(runtime, service, plan, openai)
        return data
    data.update(run(service, plan, concurrency=limit, on_progress=on_progress))
    data["llm_calls_made"] = bounded.calls
    return data


class BoundedGenerator:
    """At most `limit` LLM calls in flight across variants and their sections."""

    def __init__(self, inner: Generator, limit: int) -> None:
        self.inner, self.model = inner, inner.model
        self._slots = threading.BoundedSemaphore(max(1, limit))
        self.calls = 0
        self._count = threading.Lock()

    def complete(self, messages: list[dict[str, str]], *, max_tokens: int | None = None) -> Completion:
        with self._slots:
            with self._count:
                self.calls += 1
            return self.inner.complete(messages, max_tokens=max_tokens)


def run(service: "PersonalizationService", plan: Plan, *, concurrency: int,
        on_progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    todo = plan.todo
    generated, failed = 0, []
    started = time.perf_counter()
    done = 0
    if on_progress:
        on_progress(0, len(todo))
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="pregen") as pool:
        futures = {pool.submit(service.ensure, item.lesson, item.profile): item for item in todo}
        for future in as_completed(futures):
            item = futures[future]
            try:
                variant, made = future.result()
                generated += int(made)
            except BookctlError as exc:
                failed.append({"lesson": item.lesson.slug, "profile": item.profile.label, "error": exc.kind,
                               "message": exc.message})
            done += 1
            if on_progress:
                on_progress(done, len(todo))
    return {"generated": generated, "failed": failed, "seconds": round(time.perf_counter() - started, 3)}
