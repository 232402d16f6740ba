"""Get-or-generate personalized variants: shared per profile, single flight, guarded, never partially cached.

Single flight, across processes: whoever generates a variant first takes its claim row in the database (one
conditional upsert; see repository.claim) and renews the claim's lease while it works. Requests for the same
variant in any process wait, polling the cache, and are served the stored result; if the generator dies its
lease runs out and one waiter takes over. Within a process, one lock per cache key keeps the polling to one
thread per key. The table's unique constraint stays the last word: a loser of an insert race (a generator
whose lease was taken over) discards its text and serves the winner's.

The per-learner miss limit is exact across processes: each charge locks the learner's miss log in the
database before counting (repository.lock_learner_misses).

The cache stores only complete variants that passed every guard; a failed generation writes nothing (and the
learner's miss is refunded).

Editors' review (issue 15): a variant an editor rejected is never served; the next request (or pre-generation,
or the editor's "regenerate now") replaces it in place, with the editor's note added to the prompt as a
correction. With review policy `required`, learners get only approved variants: otherwise the original lesson
with `personalized: false` and a reason, and a learner's request never starts a generation.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Callable, ContextManager, Iterator

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bookctl.db import models as m
from bookctl.db.engine import unit_of_work
from bookctl.errors import (
    ConflictError, NotFoundError, RateLimitedError, UpstreamError, UpstreamTimeoutError, ValidationError,
)
from bookctl.llm.generate import Generator
from bookctl.ops import metrics
from bookctl.personalization import repository as repo
from bookctl.curriculum.frontmatter import split_block
from bookctl.personalization.guards import GuardFailure, check_variant, sections
from bookctl.personalization.profile import PROFILE_FIELDS, Profile
from bookctl.personalization.prompts import PROMPT_VERSION, build_messages
from bookctl.personalization.repository import CacheKey, aware
from bookctl.personalization.schemas import REVIEW_POLICIES, Generated, Variant

if TYPE_CHECKING:
    from bookctl.runtime import Runtime
    from bookctl.storage import ObjectStore

SECTION_CHARS = 6000  # ~1500 tokens: longer lessons are personalized section by section


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class _KeyedLocks:
    """One lock per key, created on demand and dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[object, list] = {}

    @contextmanager
    def hold(self, key: object) -> Iterator[None]:
        with self._guard:
            entry = self._locks.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._guard:
                entry[1] -= 1
                if entry[1] == 0:
                    self._locks.pop(key, None)


class PersonalizationService:
    def __init__(self, sessions: sessionmaker[Session], store: "ObjectStore", generator: Generator, *,
                 concurrency: int = 4, miss_limit: int = 20, miss_window: float = 3600.0,
                 section_chars: int = SECTION_CHARS,
                 prompt_version: str = PROMPT_VERSION, clock: Callable[[], datetime] = utcnow,
                 generation_threads: int = 16, review_policy: str = "off", lease: float = 30.0,
                 wait_timeout: float = 300.0, poll_interval: float = 0.1) -> None:
        self.sessions, self.store, self.generator = sessions, store, generator
        self.concurrency = max(1, concurrency)
        self.miss_limit, self.miss_window = miss_limit, miss_window
        self.section_chars, self.prompt_version, self.clock = section_chars, prompt_version, clock
        self._key_locks = _KeyedLocks()
        self._user_locks = _KeyedLocks()
        self._flights: dict[CacheKey, object] = {}  # asyncio single flight (apersonalize)
        self.generation_threads = generation_threads
        if review_policy not in REVIEW_POLICIES:
            raise ValueError(f"review_policy must be one of {REVIEW_POLICIES}")
        self.review_policy = review_policy
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        # cross-process single flight: a claim's lease, how long a waiter waits at most, how often it looks
        self.lease, self.wait_timeout, self.poll_interval = lease, wait_timeout, poll_interval

    @classmethod
    def from_runtime(cls, runtime: "Runtime", generator: Generator) -> "PersonalizationService":
        s = runtime.settings
        return cls(runtime.sessions, runtime.store, generator, concurrency=s.personalize_concurrency,
                   miss_limit=s.personalize_miss_limit, miss_window=s.personalize_miss_window,
                   review_policy=s.variant_review, lease=s.personalize_lease, wait_timeout=s.personalize_wait)

    def _session(self) -> ContextManager[Session]:
        # This service is its own edge for the single flight: each step (look up, charge a miss, store the
        # variant) must commit before the slow LLM call or the next waiter, so it owns short transactions.
        return unit_of_work(self.sessions)

    def key_for(self, lesson: m.Lesson, profile: Profile) -> CacheKey:
        if not lesson.content_hash:
            raise NotFoundError(f"lesson {lesson.slug!r} is not written yet", detail={"lesson_slug": lesson.slug})
        return CacheKey(lesson.id, lesson.content_hash, profile.hash, self.prompt_version, self.generator.model)

    # ------------------------------------------------------------------ learner path (API)

    def personalize(self, user_id: uuid.UUID, lesson_slug: str) -> Variant:
        """The variant of the lesson `lesson_slug` for this learner's current profile. Edges name the lesson with
        the one resolver (bookctl.content.resolver: slug, route, doc id, old route) and pass its slug here."""
        found = self.lookup(user_id, lesson_slug)
        if isinstance(found, Variant):
            metrics.variant_cache(hit=True)
            return found
        key, source, profile, reset = found
        return self._generate_once(key, source, profile, user_id=user_id, reset=reset)

    async def apersonalize(self, user_id: uuid.UUID, lesson_slug: str) -> Variant:
        """`personalize` for an event loop: waiters for a variant being generated hold no worker thread.

        Lookups run in the loop's default executor (short). The first request for an uncached key generates it
        in this service's own generation pool, so long generations never occupy the threads other handlers
        need; every concurrent request for the same key awaits that one flight, then reads the cache. So 100
        concurrent misses cost 1 generation and 1 thread."""
        import asyncio
        import functools

        loop = asyncio.get_running_loop()
        found = await loop.run_in_executor(None, self.lookup, user_id, lesson_slug)
        if isinstance(found, Variant):
            metrics.variant_cache(hit=True)
            return found
        key, source, profile, reset = found
        flight = self._flights.get(key)
        if flight is None:
            call = functools.partial(self._generate_once, key, source, profile, user_id=user_id, reset=reset)
            flight = loop.run_in_executor(self._generation_pool(), call)
            self._flights[key] = flight
            flight.add_done_callback(lambda _f: self._flights.pop(key, None))
            return await flight
        await asyncio.wait({flight})  # its failure is the leader's to report; we look again
        return await loop.run_in_executor(None, self.personalize, user_id, lesson_slug)

    def _generation_pool(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.generation_threads, thread_name_prefix="personalize-gen")
            return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def lookup(self, user_id: uuid.UUID, lesson_slug: str):
        """A cached Variant, or what generating it needs: (key, (slug, bucket_path), profile, reset).

        Two Core queries on one connection (learner + profile; lesson + its variant)."""
        self._check_ref(lesson_slug)
        engine = self.sessions.kw["bind"]
        with engine.connect() as conn:
            learner = repo.learner_row(conn, user_id)
            if learner is None:
                raise NotFoundError("user not found", detail={"user_id": str(user_id)})
            if not learner.onboarding_completed or learner.education_level is None:
                raise NotFoundError("the user has not completed onboarding", detail={"user_id": str(user_id)})
            profile = _profile(tuple(learner[1:6]))
            rows = repo.lesson_with_variant(conn, lesson_slug.strip(), profile.hash, self.prompt_version,
                                            self.generator.model)
        row = rows[0] if rows else None
        if row is None:
            raise NotFoundError(f"no lesson {lesson_slug!r}", detail={"lesson_slug": lesson_slug})
        if row.status != "written" or not row.content_hash or not row.bucket_path:
            raise NotFoundError(f"lesson {row.slug!r} is planned, not written yet", detail={"lesson_slug": row.slug})
        reset = aware(learner.cleared_at)
        created = aware(row.created_at)
        key = CacheKey(row.id, row.content_hash, profile.hash, self.prompt_version, self.generator.model)
        if self.review_policy == "required":
            # only what an editor approved reaches learners; a learner's request never starts a generation
            # (and a learner's cache reset does not withdraw an approved text)
            if row.personalized_content is not None and row.review_status == "approved":
                return Variant(row.personalized_content, True, created, row.slug, profile.hash)
            reason = "not_generated" if row.personalized_content is None else (
                "rejected" if row.review_status == "rejected" else "awaiting_review")
            return self._original(key, row.slug, row.bucket_path, profile, reason)
        if (row.personalized_content is not None and row.review_status != "rejected"
                and (reset is None or created >= reset)):
            return Variant(row.personalized_content, True, created, row.slug, profile.hash)
        return key, (row.slug, row.bucket_path), profile, reset

    def _original(self, key: CacheKey, slug: str, bucket_path: str | None, profile: Profile, reason: str) -> Variant:
        """The canonical lesson text in place of a variant (review policy `required`), never an error."""
        return Variant(self._body(key, slug, bucket_path), False, self.clock(), slug, profile.hash,
                       personalized=False, reason=reason)

    def _check_ref(self, ref: str) -> None:
        if not isinstance(ref, str) or not ref.strip() or len(ref) > 500:
            raise ValidationError("lesson_slug must be a lesson slug or route", detail={"lesson_slug": ref})

    def clear_cache(self, user_id: uuid.UUID) -> int:
        """DELETE /api/personalize/cache: see bookctl/api/personalize.py for the semantics. Returns the number of
        variants (for the caller's current profile) the caller will no longer be served without regeneration."""
        with self._session() as session:
            user = session.get(m.User, user_id)
            if user is None:
                raise NotFoundError("user not found", detail={"user_id": str(user_id)})
            now = self.clock()
            prefs = user.preferences
            count = 0
            if prefs is not None:
                count = repo.count_variants(session, Profile.from_preferences(prefs).hash, self.prompt_version,
                                            self.generator.model, now)
            repo.set_reset(session, user_id, now)
            return count

    # ------------------------------------------------------------------ pre-generation path (CLI)

    def ensure(self, lesson: m.Lesson, profile: Profile) -> tuple[Variant, bool]:
        """(variant, generated?) — generates only when missing; no rate limit (editors pay for pre-generation)."""
        key = self.key_for(lesson, profile)
        with self._session() as session:
            row = repo.get_variant(session, key)
            if row is not None and row.review_status != "rejected":
                return _variant(row, cached=True), False
        variant = self._generate_once(key, (lesson.slug, lesson.bucket_path), profile)
        return variant, not variant.cached

    # ------------------------------------------------------------------ the single flight

    def _generate_once(self, key: CacheKey, source: tuple[str, str | None], profile: Profile, *,
                       user_id: uuid.UUID | None = None, reset: datetime | None = None,
                       replace_up_to: datetime | None = None) -> Variant:
        """Generate the variant for `key` unless a servable one exists. `replace_up_to` (an editor's "regenerate
        now") regenerates a servable row too, unless it was made after that time: two editors clicking at once
        (or a double click) cost one generation, and the second sees the first's result."""
        slug, bucket_path = source
        with self._key_locks.hold(key):
            found = self._claim_or_wait(key, reset, replace_up_to)
            if isinstance(found, Variant):
                metrics.variant_cache(hit=True)
                return found
            claim_key, owner, replace_id, correction = found
            metrics.variant_cache(hit=False)
            try:
                with self._renewing(claim_key, owner):
                    miss_id = self._charge(user_id, key) if user_id is not None else None
                    try:
                        body = self._body(key, slug, bucket_path)
                        started = time.perf_counter()
                        generated = self.generate(body, profile, correction=correction)
                        elapsed_ms = int((time.perf_counter() - started) * 1000)
                    except BaseException:
                        if miss_id is not None:
                            self._refund(miss_id)
                        raise
                    return self._save(key, slug, profile, generated, replace_id, correction=correction,
                                      elapsed_ms=elapsed_ms)
            finally:
                self._release(claim_key, owner)

    def _claim_or_wait(self, key: CacheKey, reset: datetime | None, replace_up_to: datetime | None = None,
                       ) -> Variant | tuple[str, str, uuid.UUID | None, str | None]:
        """The servable cached variant, or this caller's claim on generating it:
        (claim key, owner, row to replace, the editor's note when that row was rejected).

        While another generator (in any process) holds a live claim, wait and look again; when it stores the
        variant, serve it; when it fails or dies (its lease runs out), claim it ourselves."""
        claim_key = hashlib.sha256(key.custom_id.encode()).hexdigest()
        deadline = time.monotonic() + self.wait_timeout
        waited = False
        while True:
            with self._session() as session:
                row = repo.get_variant(session, key)
                if _servable(row, reset, replace_up_to):
                    return _variant(row, cached=True)
                owner = uuid.uuid4().hex
                now = utcnow()  # leases use the wall clock, never the injectable clock of the miss window
                won = repo.claim(session, claim_key, owner, now, now + timedelta(seconds=self.lease)) == owner
            if won:
                # Look again after winning, in a new transaction: a generator that stored the variant and released
                # its claim between our first look and our claim must not cause a second generation. (It stores
                # before it releases; a new transaction sees that commit, while SQLite would keep showing the
                # first look's snapshot inside the same one.)
                with self._session() as session:
                    row = repo.get_variant(session, key)
                    if _servable(row, reset, replace_up_to):
                        repo.release_claim(session, claim_key, owner)
                        return _variant(row, cached=True)
                    # a rejected variant is regenerated with the editor's note as a correction
                    correction = row.review_note if row is not None and row.review_status == "rejected" else None
                    return claim_key, owner, (row.id if row is not None else None), correction
            if not waited:
                waited = True
                metrics.single_flight_wait()
            if time.monotonic() > deadline:
                raise UpstreamTimeoutError("another request is still generating this variant; retry shortly",
                                           detail={"lesson_id": str(key.lesson_id), "waited_seconds": self.wait_timeout})
            time.sleep(self.poll_interval * (0.5 + random.random()))  # jitter: waiters in N processes spread out

    @contextmanager
    def _renewing(self, claim_key: str, owner: str) -> Iterator[None]:
        """Renew the claim's lease every quarter of it while the block runs (a live generator keeps its claim)."""
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(self.lease / 4):
                try:
                    with self._session() as session:
                        if not repo.renew_claim(session, claim_key, owner, utcnow() + timedelta(seconds=self.lease)):
                            return  # taken over after a stall: the unique constraint settles who is stored
                except Exception:  # noqa: BLE001 - a failed renewal is retried at the next tick
                    continue

        thread = threading.Thread(target=renew, name="personalize-lease", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=5)

    def _release(self, claim_key: str, owner: str) -> None:
        try:
            with self._session() as session:
                repo.release_claim(session, claim_key, owner)
        except Exception:  # noqa: BLE001 - an unreleased claim only delays the next generator until its lease ends
            pass

    def regenerate(self, variant_id: uuid.UUID) -> Variant:
        """An editor's "regenerate now": replace this variant in place (with the rejection note, if rejected),
        under the same single flight and LLM bounds as every generation. A stale variant (its lesson changed) is
        refused: learners are already served a new one for the new text."""
        with self._session() as session:
            row = session.get(m.PersonalizedContent, variant_id)
            if row is None:
                raise NotFoundError("no such variant", detail={"variant_id": str(variant_id)})
            lesson = session.get(m.Lesson, row.lesson_id)
            if (lesson is None or lesson.removed_at is not None or lesson.content_hash != row.content_hash
                    or row.prompt_version != self.prompt_version or row.model != self.generator.model):
                raise ConflictError("this variant is stale (the lesson, prompt or model changed); it is no longer "
                                    "served, and the current one is generated on the next request",
                                    detail={"variant_id": str(variant_id)})
            key = CacheKey(row.lesson_id, row.content_hash, row.profile_hash, row.prompt_version, row.model)
            profile = Profile.from_mapping(row.profile)
            source = (lesson.slug, lesson.bucket_path)
            made = aware(row.created_at)
        return self._generate_once(key, source, profile, replace_up_to=made)

    def _save(self, key: CacheKey, slug: str, profile: Profile, generated: Generated, replace_id: uuid.UUID | None,
              *, correction: str | None = None, elapsed_ms: int | None = None) -> Variant:
        now = self.clock()
        try:
            with self._session() as session:
                row = session.get(m.PersonalizedContent, replace_id) if replace_id else None
                if row is None:
                    row = m.PersonalizedContent(
                        lesson_id=key.lesson_id, lesson_slug=slug, content_hash=key.content_hash,
                        profile_hash=key.profile_hash, prompt_version=key.prompt_version, model=key.model,
                        profile=profile.as_dict())
                    session.add(row)
                row.personalized_content = generated.text
                row.tokens_in, row.tokens_out, row.created_at = generated.tokens_in, generated.tokens_out, now
                # a new text needs a new review
                row.review_status, row.reviewed_by, row.reviewed_at, row.review_note = "unreviewed", None, None, None
                row.correction, row.generation_ms = correction, elapsed_ms
                session.flush()
                return _variant(row, cached=False)
        except IntegrityError:
            # another process inserted the same key first: serve its variant, discard ours
            with self._session() as session:
                row = repo.get_variant(session, key)
                if row is None:
                    raise
                return _variant(row, cached=True)

    def _body(self, key: CacheKey, slug: str, bucket_path: str | None) -> str:
        if not bucket_path:
            raise NotFoundError(f"lesson {slug!r} has no synced body", detail={"lesson_slug": slug})
        try:
            raw = self.store.get(bucket_path)
        except NotFoundError:  # objects are immutable: a sync switched the lesson to a new one and removed this
            raw = b""
        if hashlib.sha256(raw).hexdigest() != key.content_hash:
            # a sync is replacing this lesson right now: never cache a variant under the wrong content hash
            raise ConflictError(f"lesson {slug!r} changed while being personalized; retry", detail={"lesson_slug": slug})
        return _lesson_text(raw)

    # ------------------------------------------------------------------ rate limit

    def _charge(self, user_id: uuid.UUID, key: CacheKey) -> uuid.UUID | None:
        if self.miss_limit <= 0:
            return None
        now = self.clock()
        since = now - timedelta(seconds=self.miss_window)
        with self._user_locks.hold(user_id), self._session() as session:
            repo.lock_learner_misses(session, user_id, since)  # first: serializes this learner across processes
            used = repo.count_misses(session, user_id, since)
            if used >= self.miss_limit:
                oldest = repo.oldest_miss(session, user_id, since) or now
                retry_after = max(1, int((oldest + timedelta(seconds=self.miss_window) - now).total_seconds()) + 1)
                raise RateLimitedError(
                    f"personalization limit reached: {self.miss_limit} new variants per {self.miss_window:g}s; "
                    "cached variants are still served", detail={"limit": self.miss_limit, "window_seconds": self.miss_window,
                                                                 "retry_after": retry_after})
            return repo.add_miss(session, user_id, key.lesson_id, key.profile_hash, now)

    def _refund(self, miss_id: uuid.UUID) -> None:
        with self._session() as session:
            repo.remove_miss(session, miss_id)

    # ------------------------------------------------------------------ generation (no database)

    def generate(self, body: str, profile: Profile, *, correction: str | None = None) -> Generated:
        """Personalize a lesson body: section by section when long (bounded concurrency), reassembled, guarded.
        `correction` is an editor's note on a rejected earlier variant; it goes into every section's prompt."""
        if not body.strip():
            return Generated(body, 0, 0, 0)
        pieces = sections(body, self.section_chars)
        if len(pieces) == 1:
            return self.personalize_piece(body, profile, None, editor_note=correction)
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(pieces)), thread_name_prefix="personalize") as pool:
            futures = [pool.submit(self.personalize_piece, piece, profile, (i + 1, len(pieces)), editor_note=correction)
                       for i, piece in enumerate(pieces)]
            results = [f.result() for f in futures]  # first failure propagates; nothing is assembled or cached
        return self.assemble(body, results)

    def pieces(self, body: str) -> list[str]:
        return sections(body, self.section_chars)

    def personalize_piece(self, piece: str, profile: Profile, section: tuple[int, int] | None, completion=None, *,
                          editor_note: str | None = None) -> Generated:
        """One piece: generate (unless `completion` is given, e.g. from a batch), guard, retry once with a correction."""
        if completion is None:
            completion = self.generator.complete(build_messages(profile, piece, section=section, editor_note=editor_note))
        tokens_in, tokens_out = completion.tokens_in, completion.tokens_out
        try:
            _check(piece, completion)
            return Generated(_tidy(completion.text), tokens_in, tokens_out, 1)
        except GuardFailure as failure:
            first = failure
        retry = self.generator.complete(build_messages(profile, piece, section=section, correction=first.message,
                                                       previous=completion.text, editor_note=editor_note))
        tokens_in, tokens_out = tokens_in + retry.tokens_in, tokens_out + retry.tokens_out
        try:
            _check(piece, retry)
        except GuardFailure as failure:
            detail = {"rule": failure.rule, "first_rule": first.rule}
            if section:
                detail["section"] = f"{section[0]}/{section[1]}"
            raise UpstreamError(f"the personalized variant failed a guard twice ({failure}); nothing was cached",
                                detail=detail) from None
        return Generated(_tidy(retry.text), tokens_in, tokens_out, 2)

    def assemble(self, body: str, results: list[Generated]) -> Generated:
        """Join personalized sections (in order) and check the whole; raises UpstreamError on a guard failure."""
        if len(results) == 1:
            return results[0]
        text = "\n\n".join(r.text.strip("\n") for r in results) + "\n"
        try:
            check_variant(body, text)
        except GuardFailure as failure:
            raise UpstreamError(f"the reassembled variant failed a guard: {failure}",
                                detail={"rule": failure.rule}) from None
        return Generated(text, sum(r.tokens_in for r in results), sum(r.tokens_out for r in results),
                         sum(r.calls for r in results))

    def save(self, key: CacheKey, slug: str, profile: Profile, generated: Generated) -> Variant:
        """Insert a complete, guarded variant (idempotent: an existing row for the key wins)."""
        with self._key_locks.hold(key):
            with self._session() as session:
                row = repo.get_variant(session, key)
                if row is not None and row.review_status != "rejected":
                    return _variant(row, cached=True)
                replace_id = row.id if row is not None else None
                correction = row.review_note if row is not None else None
            return self._save(key, slug, profile, generated, replace_id, correction=correction)

    def body_of(self, lesson: m.Lesson) -> str:
        """The lesson's canonical synced text (front matter removed), verified against its content hash."""
        return self._body(self.key_for(lesson, _ANY_PROFILE), lesson.slug, lesson.bucket_path)


_ANY_PROFILE = Profile("undergraduate", "intermediate", False, "basic", "en")


@lru_cache(maxsize=4096)
def _profile(fields: tuple) -> Profile:
    return Profile.from_mapping(dict(zip(PROFILE_FIELDS, fields)))


def _check(piece: str, completion) -> None:
    if completion.finish_reason == "length":
        raise GuardFailure("truncated", "the answer was cut off at the token limit")
    check_variant(piece, completion.text)


def _tidy(text: str) -> str:
    return text.strip("\n") + "\n"


def _lesson_text(raw: bytes) -> str:
    """The Markdown after the front matter, with LF line endings (models answer in LF; the code guard compares
    verbatim, so CRLF sources are normalized before the LLM sees them)."""
    _front, body = split_block(raw.decode("utf-8").replace("\r\n", "\n"))
    return body.lstrip("\n")


def lesson_text(raw: bytes) -> str:
    return _lesson_text(raw)


def _servable(row: m.PersonalizedContent | None, reset: datetime | None, replace_up_to: datetime | None) -> bool:
    """A stored variant this request may be served instead of generating (not an editor's regenerate target)."""
    if row is None or not _fresh(row, reset):
        return False
    return replace_up_to is None or aware(row.created_at) > replace_up_to


def _fresh(row: m.PersonalizedContent, reset: datetime | None) -> bool:
    if row.review_status == "rejected":
        return False
    return reset is None or (aware(row.created_at) or reset) >= reset


def _variant(row: m.PersonalizedContent, *, cached: bool) -> Variant:
    return Variant(row.personalized_content, cached, aware(row.created_at) or utcnow(), row.lesson_slug, row.profile_hash)
