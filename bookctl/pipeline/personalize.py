"""`bookctl personalize`: pre-generate shared variants for chosen profiles; plan, run, batch submit and collect.

Resumable by construction: a variant already in the cache (same lesson content, profile, prompt and model) is
skipped, so a second run makes no LLM call. Failures are reported per variant and never cached.
"""

from __future__ import annotations

import json
import threading
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bookctl.db import models as m
from bookctl.errors import BookctlError, ConfigError, NotFoundError, UsageError, ValidationError
from bookctl.llm.generate import Completion, Generator
from bookctl.personalization import repository as repo
from bookctl.personalization.profile import Profile, matrix
from bookctl.personalization.prompts import build_messages
from bookctl.personalization.repository import CacheKey
from bookctl.personalization.schemas import Generated

if TYPE_CHECKING:
    from bookctl.personalization.service import PersonalizationService
    from bookctl.runtime import Runtime

# USD per 1M tokens (input, output), standard tier. Override with BOOKCTL_LLM_PRICE_TABLE (JSON or TOML:
# {"model": {"input": 0.15, "output": 0.60}}). The Batch API is billed at half these prices.
DEFAULT_PRICES: dict[str, dict[str, float]] = {
    "gpt-4o-mini": {"input": 0.15, "output": 0.60},
    "gpt-4o": {"input": 2.50, "output": 10.00},
    "gpt-4.1": {"input": 2.00, "output": 8.00},
    "gpt-4.1-mini": {"input": 0.40, "output": 1.60},
    "gpt-4.1-nano": {"input": 0.10, "output": 0.40},
}
BATCH_DISCOUNT = 0.5
# Estimated output tokens per input lesson token: explanations grow for beginners; Urdu script costs more tokens.
OUT_FACTOR = {"en": 1.3, "ur": 2.2}
MESSAGE_OVERHEAD = 4  # tokens per chat message (role, separators)


# ------------------------------------------------------------------ profiles and lessons

def resolve_profiles(session: Session, spec: str) -> list[dict[str, Any]]:
    """`top:N` (most common among onboarded learners), `matrix:field=a,b;...`, or a JSON/YAML file of profiles."""
    spec = spec.strip()
    if spec.startswith("top:"):
        try:
            n = int(spec[4:])
        except ValueError:
            raise UsageError(f"--profiles top:N needs a number; got {spec!r}") from None
        counts, by_hash = repo.learner_profiles(session)
        return [{"profile": by_hash[h], "learners": c} for h, c in list(counts.items())[:max(0, n)]]
    if spec.startswith("matrix:"):
        return [{"profile": p, "learners": None} for p in matrix(spec[7:])]
    path = Path(spec)
    if not path.is_file():
        raise UsageError(f"--profiles must be top:N, matrix:field=a,b;... or a JSON/YAML file; {spec!r} is none of these")
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text)
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path}: not valid JSON: {exc}") from None
    if isinstance(data, dict):
        data = data.get("profiles", [])
    if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
        raise UsageError(f"{path}: expected a list of profile objects (or {{\"profiles\": [...]}})")
    seen: dict[str, dict[str, Any]] = {}
    for i, item in enumerate(data):
        try:
            profile = Profile.from_mapping(item, defaults=True)
        except ValidationError as exc:
            raise UsageError(f"{path}: profile #{i + 1}: {exc.message}") from None
        seen.setdefault(profile.hash, {"profile": profile, "learners": None})
    return list(seen.values())


def book_row(session: Session, book_slug: str | None) -> m.Book:
    if book_slug:
        row = session.scalar(select(m.Book).where(m.Book.slug == book_slug))
        if row is None:
            raise NotFoundError(f"book {book_slug!r} is not synced: run `bookctl sync`")
        return row
    rows = list(session.scalars(select(m.Book)))
    if not rows:
        raise NotFoundError("no book is synced: run `bookctl sync` first")
    if len(rows) > 1:
        raise UsageError(f"several books are synced ({', '.join(r.slug for r in rows)}): set BOOKCTL_BOOK_SLUG or --book")
    return rows[0]


def select_lessons(session: Session, book: m.Book, patterns: list[str] | None) -> list[m.Lesson]:
    """Written, current lessons in reading order; `patterns` narrow by slug/route prefix or fnmatch glob."""
    from fnmatch import fnmatch

    rows = list(session.scalars(select(m.Lesson).where(
        m.Lesson.book_id == book.id, m.Lesson.removed_at.is_(None), m.Lesson.status == "written",
        m.Lesson.content_hash.is_not(None)).order_by(m.Lesson.position)))
    if not patterns:
        return rows
    chosen = []
    for row in rows:
        names = [row.slug, (row.route or "").strip("/")]
        for pattern in patterns:
            p = pattern.strip().strip("/")
            if any(n == p or n.startswith(p + "/") or fnmatch(n, p) for n in names if n):
                chosen.append(row)
                break
    if not chosen:
        raise NotFoundError(f"no written lesson matches --lessons {', '.join(patterns)}")
    return chosen


# ------------------------------------------------------------------ plan

@dataclass
class Item:
    lesson: m.Lesson
    profile: Profile
    key: CacheKey
    cached: bool
    tokens_in: int = 0
    tokens_out: int = 0
    calls: int = 1


@dataclass
class Plan:
    book: str
    model: str
    prompt_version: str
    profiles: list[dict[str, Any]]
    lessons: list[m.Lesson]
    items: list[Item] = field(default_factory=list)
    pending: set[str] = field(default_factory=set)  # keys in a submitted, uncollected batch
    # (lesson_id, content_hash, profile_hash) -> an editor's note on the rejected variant being regenerated
    corrections: dict[tuple, str] = field(default_factory=dict)

    @property
    def todo(self) -> list[Item]:
        return [i for i in self.items if not i.cached and i.key.custom_id not in self.pending]


def make_plan(runtime: "Runtime", service: "PersonalizationService", profiles_spec: str,
              lessons: list[str] | None, *, estimate: bool = True) -> Plan:
    model, version = service.generator.model, service.prompt_version
    with runtime.session() as session:
        book = book_row(session, runtime.settings.book_slug or _book_slug(runtime))
        profiles = resolve_profiles(session, profiles_spec)
        rows = select_lessons(session, book, lessons)
        present = repo.cached_keys(session, [r.id for r in rows], version, model)
        corrections = repo.rejected_notes(session, [r.id for r in rows], version, model)
        pending = set()
        for batch in session.scalars(select(m.PersonalizationBatch).where(m.PersonalizationBatch.collected_at.is_(None))):
            pending.update(batch.requests.keys())
        session.expunge_all()
    plan = Plan(book.slug, model, version, profiles, rows, pending=pending, corrections=corrections)
    for lesson in rows:
        for entry in profiles:
            profile: Profile = entry["profile"]
            key = service.key_for(lesson, profile)
            plan.items.append(Item(lesson, profile, key, (lesson.id, lesson.content_hash, profile.hash) in present))
    if estimate and plan.todo:
        _estimate(service, plan)
    return plan


def _book_slug(runtime: "Runtime") -> str | None:
    """The slug of the book at BOOKCTL_BOOK, as sync names it (None: fall back to the only synced book)."""
    try:
        from bookctl.curriculum import book_slug

        s = runtime.settings
        if not (Path(s.book_dir) / "curriculum.md").is_file():
            return None
        return book_slug(s.book_dir)
    except Exception:  # noqa: BLE001 - only a hint; the database decides
        return None


def _estimate(service: "PersonalizationService", plan: Plan) -> None:
    from bookctl.llm.tokens import count_tokens, encoding_for_model

    encoding = encoding_for_model(plan.model)
    bodies: dict[Any, list[str]] = {}
    for item in plan.todo:
        pieces = bodies.get(item.lesson.id)
        if pieces is None:
            pieces = bodies[item.lesson.id] = service.pieces(service.body_of(item.lesson))
        tin = tout = 0
        for i, piece in enumerate(pieces):
            messages = build_messages(item.profile, piece, section=(i + 1, len(pieces)))
            tin += sum(count_tokens(msg["content"], encoding) + MESSAGE_OVERHEAD for msg in messages)
            tout += int(count_tokens(piece, encoding) * OUT_FACTOR[item.profile.preferred_language])
        item.tokens_in, item.tokens_out, item.calls = tin, tout, len(pieces)


def load_prices(path: Path | None) -> dict[str, dict[str, float]]:
    prices = dict(DEFAULT_PRICES)
    if path is None:
        return prices
    try:
        text = Path(path).read_text(encoding="utf-8")
        data = tomllib.loads(text) if Path(path).suffix == ".toml" else json.loads(text)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"BOOKCTL_LLM_PRICE_TABLE {path}: {exc}") from None
    for model, row in data.items():
        if not (isinstance(row, dict) and {"input", "output"} <= set(row)):
            raise ConfigError(f"BOOKCTL_LLM_PRICE_TABLE {path}: {model!r} needs input and output prices per 1M tokens")
        prices[model] = {"input": float(row["input"]), "output": float(row["output"])}
    return prices


def cost(prices: dict[str, dict[str, float]], model: str, tokens_in: int, tokens_out: int, *, batch: bool) -> float | None:
    row = prices.get(model)
    if row is None:
        return None
    usd = (tokens_in * row["input"] + tokens_out * row["output"]) / 1_000_000
    return round(usd * (BATCH_DISCOUNT if batch else 1.0), 6)


def plan_dict(plan: Plan, prices: dict[str, dict[str, float]], *, batch: bool) -> dict[str, Any]:
    todo = plan.todo
    tin, tout = sum(i.tokens_in for i in todo), sum(i.tokens_out for i in todo)
    return {
        "book": plan.book, "model": plan.model, "prompt_version": plan.prompt_version,
        "profiles": [{"profile": e["profile"].as_dict(), "label": e["profile"].label, "hash": e["profile"].hash,
                      "learners": e["learners"]} for e in plan.profiles],
        "lessons": len(plan.lessons), "variants": len(plan.items),
        "cached": sum(1 for i in plan.items if i.cached), "pending_in_batch": sum(1 for i in plan.items if not i.cached and i.key.custom_id in plan.pending),
        "to_generate": len(todo), "llm_calls": sum(i.calls for i in todo),
        "estimate": {"tokens_in": tin, "tokens_out": tout, "batch": batch,
                     "cost_usd": cost(prices, plan.model, tin, tout, batch=batch),
                     "note": "tokens counted with tiktoken on the real prompts; output estimated as "
                             f"{OUT_FACTOR['en']}x the lesson (English) / {OUT_FACTOR['ur']}x (Urdu); guard retries not included"},
        "plan": [{"lesson": i.lesson.slug, "profile": i.profile.label, "calls": i.calls, "tokens_in": i.tokens_in,
                  "tokens_out": i.tokens_out} for i in todo],
    }


# ------------------------------------------------------------------ run

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


# ------------------------------------------------------------------ Batch API

def submit_batch(runtime: "Runtime", service: "PersonalizationService", plan: Plan, client_call: Any) -> dict[str, Any]:
    """Upload one JSONL of chat requests (custom_id = cache key, `#i/n` for sections) and create the batch."""
    lines, requests = [], {}
    for item in plan.todo:
        pieces = service.pieces(service.body_of(item.lesson))
        note = plan.corrections.get((item.lesson.id, item.lesson.content_hash, item.profile.hash))
        for i, piece in enumerate(pieces):
            messages = build_messages(item.profile, piece, section=(i + 1, len(pieces)), editor_note=note)
            lines.append(json.dumps({"custom_id": f"{item.key.custom_id}#{i + 1}/{len(pieces)}", "method": "POST",
                                     "url": "/v1/chat/completions",
                                     "body": {"model": plan.model, "messages": messages, "temperature": 0.2}}))
        requests[item.key.custom_id] = {"lesson_slug": item.lesson.slug, "profile": item.profile.as_dict(),
                                        "sections": len(pieces)}
    if not requests:
        return {"batch_id": None, "requests": 0, "variants": 0}
    payload = ("\n".join(lines) + "\n").encode()
    client = service.generator.client if hasattr(service.generator, "client") else None
    if client is None:
        raise ConfigError("--batch needs the OpenAI generator (an OpenAI-compatible endpoint with the Batch API)")
    upload = client_call(lambda: client.files.create(file=("personalize.jsonl", payload), purpose="batch"))
    batch = client_call(lambda: client.batches.create(input_file_id=upload.id, endpoint="/v1/chat/completions",
                                                      completion_window="24h",
                                                      metadata={"bookctl": "personalize", "book": plan.book}))
    with runtime.session() as session:
        session.add(m.PersonalizationBatch(id=batch.id, model=plan.model, prompt_version=plan.prompt_version,
                                           status=batch.status or "submitted", input_file_id=upload.id,
                                           requests=requests, result={}))
    return {"batch_id": batch.id, "status": batch.status, "requests": len(lines), "variants": len(requests),
            "input_file_id": upload.id}


def collect_batch(runtime: "Runtime", service: "PersonalizationService", batch_id: str, client_call: Any) -> dict[str, Any]:
    """Write a finished batch's results into the cache, guards applied. Idempotent: cached keys are skipped."""
    with runtime.session() as session:
        record = session.get(m.PersonalizationBatch, batch_id)
        if record is None:
            raise NotFoundError(f"no batch {batch_id!r} was submitted from this database")
        requests = dict(record.requests)
    client = service.generator.client
    batch = client_call(lambda: client.batches.retrieve(batch_id))
    result: dict[str, Any] = {"batch_id": batch_id, "status": batch.status, "written": 0, "skipped": 0,
                              "failed": [], "stale": 0, "collected": False}
    if batch.status != "completed":
        with runtime.session() as session:
            session.get(m.PersonalizationBatch, batch_id).status = batch.status
        if batch.status in ("failed", "expired", "cancelled"):
            result["failed"] = [{"key": k, "error": f"batch {batch.status}"} for k in requests]
        return result
    answers: dict[str, Any] = {}
    for file_id in filter(None, (batch.output_file_id, batch.error_file_id)):
        text = client_call(lambda fid=file_id: client.files.content(fid)).text
        for line in filter(None, text.splitlines()):
            row = json.loads(line)
            answers[row["custom_id"]] = row
    with runtime.session() as session:
        lessons = {str(r.id): r for r in session.scalars(select(m.Lesson).where(
            m.Lesson.id.in_([CacheKey.parse(k).lesson_id for k in requests])))}
        session.expunge_all()
    for custom_id, meta in requests.items():
        key = CacheKey.parse(custom_id)
        profile = Profile.from_mapping(meta["profile"])
        with runtime.session() as session:
            if repo.get_variant(session, key) is not None:
                result["skipped"] += 1
                continue
        lesson = lessons.get(str(key.lesson_id))
        if lesson is None or lesson.content_hash != key.content_hash:
            result["stale"] += 1  # the lesson changed since submission: its variant would never be served
            continue
        try:
            body = service.body_of(lesson)
            pieces = service.pieces(body)
            if len(pieces) != meta["sections"]:
                raise ValidationError("the lesson splits differently than when submitted")
            parts: list[Generated] = []
            for i, piece in enumerate(pieces):
                answer = answers.get(f"{custom_id}#{i + 1}/{len(pieces)}")
                completion = _completion(answer)
                parts.append(service._one(piece, profile, (i + 1, len(pieces)), completion))
            service.save(key, lesson.slug, profile, service.assemble(body, parts))
            result["written"] += 1
        except BookctlError as exc:
            result["failed"].append({"lesson": meta["lesson_slug"], "profile": profile.label, "error": exc.kind,
                                     "message": exc.message})
    result["collected"] = True
    with runtime.session() as session:
        record = session.get(m.PersonalizationBatch, batch_id)
        record.status = "collected"
        record.collected_at = datetime.now(timezone.utc)
        record.result = {k: v for k, v in result.items() if k != "failed"} | {"failed": len(result["failed"])}
    return result


def _completion(answer: dict[str, Any] | None) -> Completion:
    """A batch answer as a Completion; a missing or failed answer becomes an empty one (the guard retries it)."""
    if not answer or answer.get("error") or not answer.get("response"):
        return Completion(text="", finish_reason="error")
    response = answer["response"]
    if response.get("status_code") != 200:
        return Completion(text="", finish_reason="error")
    body = response.get("body") or {}
    choice = (body.get("choices") or [{}])[0]
    usage = body.get("usage") or {}
    return Completion(text=(choice.get("message") or {}).get("content") or "", finish_reason=choice.get("finish_reason"),
                      tokens_in=usage.get("prompt_tokens", 0), tokens_out=usage.get("completion_tokens", 0))


# ------------------------------------------------------------------ bookctl status

def stage_report(session: Session, book: m.Book) -> dict[str, int]:
    """Variants for this book: current (lesson body and prompt version match) and stale (pruneable)."""
    from sqlalchemy import and_, func

    from bookctl.personalization.prompts import PROMPT_VERSION

    pc, lesson = m.PersonalizedContent, m.Lesson
    base = select(func.count()).select_from(pc).join(lesson, lesson.id == pc.lesson_id).where(lesson.book_id == book.id)
    current_cond = and_(pc.content_hash == lesson.content_hash, pc.prompt_version == PROMPT_VERSION,
                        lesson.removed_at.is_(None))
    total = session.scalar(base) or 0
    current = session.scalar(base.where(current_cond)) or 0
    profiles = session.scalar(select(func.count(func.distinct(pc.profile_hash))).select_from(pc)
                              .join(lesson, lesson.id == pc.lesson_id)
                              .where(lesson.book_id == book.id, current_cond)) or 0
    review = dict(session.execute(select(pc.review_status, func.count()).select_from(pc)
                                  .join(lesson, lesson.id == pc.lesson_id)
                                  .where(lesson.book_id == book.id, current_cond).group_by(pc.review_status)).all())
    # the review backlog (bookctl review): current variants nobody has approved yet, and rejected ones
    return {"personalized": current, "profiles": profiles, "stale": total - current,
            "unreviewed": review.get("unreviewed", 0), "approved": review.get("approved", 0),
            "rejected": review.get("rejected", 0)}


def prune(runtime: "Runtime", book_slug: str | None, prompt_version: str, dry_run: bool = False) -> list[dict[str, Any]]:
    """Delete this book's variants that can never be served again: made from an older lesson body, for a removed
    lesson, or with another prompt version. (Variants of other models are kept: switching back serves them.)
    Returns what was (with `dry_run`, what would be) deleted; a dry run deletes nothing."""
    from sqlalchemy import delete, or_

    pc, lesson = m.PersonalizedContent, m.Lesson
    with runtime.session() as session:
        book = book_row(session, book_slug or _book_slug(runtime))
        stale = (select(pc.id, pc.lesson_slug, pc.profile_hash, pc.prompt_version, pc.model).join(lesson, lesson.id == pc.lesson_id)
                 .where(lesson.book_id == book.id,
                        or_(lesson.content_hash.is_(None), pc.content_hash != lesson.content_hash,
                            lesson.removed_at.is_not(None), pc.prompt_version != prompt_version))
                 .order_by(pc.lesson_slug, pc.profile_hash))
        rows = session.execute(stale).all()
        if not dry_run:
            ids = [r.id for r in rows]
            for start in range(0, len(ids), 500):
                session.execute(delete(pc).where(pc.id.in_(ids[start:start + 500])))
        return [{"lesson": r.lesson_slug, "profile": r.profile_hash[:12], "prompt_version": r.prompt_version,
                 "model": r.model} for r in rows]


# ------------------------------------------------------------------ what a sync would make stale (issue 16)

def estimate_stale(session: Session, book_id: Any, new_bodies: dict[Any, bytes], model: str,
                   prices: dict[str, dict[str, float]], *, batch: bool = True) -> dict[str, Any]:
    """The cost of regenerating the variants a sync would make stale: for each lesson whose body changes
    (`new_bodies`: lesson id -> new file bytes), every profile that has a current variant of it, counted
    with the same prompts and token factors as `bookctl personalize --dry-run`."""
    from bookctl.llm.tokens import count_tokens, encoding_for_model
    from bookctl.personalization.guards import sections
    from bookctl.personalization.prompts import PROMPT_VERSION
    from bookctl.personalization.service import SECTION_CHARS, _lesson_text

    pc, lesson = m.PersonalizedContent, m.Lesson
    rows = session.execute(
        select(pc.lesson_id, pc.profile).join(lesson, lesson.id == pc.lesson_id)
        .where(lesson.book_id == book_id, pc.lesson_id.in_(list(new_bodies)), pc.content_hash == lesson.content_hash,
               pc.prompt_version == PROMPT_VERSION, pc.model == model)
    ).all() if new_bodies else []
    encoding = encoding_for_model(model) if rows else None
    pieces_of: dict[Any, list[str]] = {}
    seen: set[tuple[Any, str]] = set()
    tin = tout = calls = 0
    for lesson_id, stored in rows:
        profile = Profile.from_mapping(stored)
        if (lesson_id, profile.hash) in seen:
            continue
        seen.add((lesson_id, profile.hash))
        pieces = pieces_of.get(lesson_id)
        if pieces is None:
            pieces = pieces_of[lesson_id] = sections(_lesson_text(new_bodies[lesson_id]), SECTION_CHARS)
        for i, piece in enumerate(pieces):
            messages = build_messages(profile, piece, section=(i + 1, len(pieces)))
            tin += sum(count_tokens(msg["content"], encoding) + MESSAGE_OVERHEAD for msg in messages)
            tout += int(count_tokens(piece, encoding) * OUT_FACTOR[profile.preferred_language])
        calls += len(pieces)
    return {"lessons": len(pieces_of), "variants": len(seen), "llm_calls": calls, "model": model,
            "tokens_in": tin, "tokens_out": tout, "batch": batch,
            "cost_usd": cost(prices, model, tin, tout, batch=batch) if seen else 0.0}
