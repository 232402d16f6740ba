"""Pre-generation planning: which profiles and lessons, which variants are cached or pending in a batch, and what
the rest would cost (tokens counted with tiktoken on the real prompts)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bookctl.db import models as m
from bookctl.errors import NotFoundError, UsageError, ValidationError
from bookctl.llm.prices import cost
from bookctl.personalization import repository as repo
from bookctl.personalization.profile import Profile, matrix
from bookctl.personalization.prompts import build_messages
from bookctl.personalization.repository import CacheKey

if TYPE_CHECKING:
    from bookctl.personalization.service import PersonalizationService
    from bookctl.runtime import Runtime

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
        book = book_row(session, runtime.settings.book_slug or default_book_slug(runtime))
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


def default_book_slug(runtime: "Runtime") -> str | None:
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
