"""The service on SQLite and PostgreSQL with the fake LLM over real HTTP: cache keys, single flight, faults."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from bookctl.errors import NotFoundError, RateLimitedError, UpstreamError, UpstreamTimeoutError
from bookctl.personalization.guards import code_blocks
from bookctl.personalization.prompts import PROMPT_VERSION
from tests.fakes.openai_server import Fault
from tests.personalization.conftest import ADVANCED, BEGINNER, LESSON, URDU, make_generator

CHAT = "/v1/chat/completions"


def test_same_profile_shares_one_variant(env):
    a, b = env.user(BEGINNER), env.user(dict(BEGINNER, learning_goals=["teaching", "research"]))
    first = env.service.personalize(a, LESSON)
    assert not first.cached and "[p:" in first.personalized_content
    second = env.service.personalize(b, LESSON)
    assert second.cached and second.personalized_content == first.personalized_content
    assert env.chat_calls() == env.sections(LESSON) and len(env.variants()) == 1


def test_route_names_the_same_variant_through_the_one_resolver(env):
    """The service takes the slug the one resolver (bookctl.content.resolver, as the API and MCP use it) names."""
    from bookctl.content.service import ContentService

    a = env.user()
    env.service.personalize(a, LESSON)
    route = "/docs/" + LESSON  # what the Docusaurus site shows
    slug = ContentService(env.runtime).entry(route).lesson.slug
    assert slug == LESSON and env.service.personalize(a, slug).cached
    assert env.variants()[0].lesson_slug == LESSON
    with pytest.raises(NotFoundError):  # a route is resolved at the edge, never guessed again here
        env.service.personalize(a, route)


def test_changed_preferences_prompt_model_or_content_select_new_variants(env):
    user = env.user(BEGINNER)
    base = env.service.personalize(user, LESSON)
    env.set_prefs(user, programming_experience="advanced")
    changed = env.service.personalize(user, LESSON)
    assert not changed.cached and changed.personalized_content != base.personalized_content
    env.set_prefs(user, programming_experience="beginner")
    assert env.service.personalize(user, LESSON).cached  # back to the first profile: its variant is reused

    assert not env.new_service(prompt_version=PROMPT_VERSION + "-next").personalize(user, LESSON).cached
    assert not env.new_service(make_generator(env.llm, model="gpt-4.1-mini")).personalize(user, LESSON).cached

    # editing the lesson and re-syncing selects a new variant
    path = next(env.ws.book.rglob("02-lesson-embodiment-hypothesis.md"))
    path.write_text(path.read_text() + "\n\nOne more paragraph added by an editor.\n")
    assert env.ws.run("sync").code == 0
    fresh = env.service.personalize(user, LESSON)
    assert not fresh.cached and "added by an editor" in fresh.personalized_content
    keys = {(v.content_hash, v.profile_hash, v.prompt_version, v.model) for v in env.variants()}
    assert len(keys) == len(env.variants()) == 5


def test_single_flight_100_concurrent_requests_one_generation(env):
    env.llm.latency = 0.3  # long enough that every request arrives while the first is generating
    users = [env.user(dict(BEGINNER, learning_goals=[g])) for g in ("hobby", "research", "teaching", "career_change")]
    barrier = threading.Barrier(100)

    def request(i: int):
        barrier.wait()
        return env.service.personalize(users[i % len(users)], LESSON)

    with ThreadPoolExecutor(max_workers=100) as pool:
        results = list(pool.map(request, range(100)))
    assert env.sections(LESSON) > 1  # a long lesson: one generation is several section calls
    assert env.chat_calls() == env.sections(LESSON)  # ...made exactly once
    assert len({r.personalized_content for r in results}) == 1
    assert sum(not r.cached for r in results) == 1
    assert len(env.variants()) == 1


def test_two_services_racing_share_the_unique_row(env):
    """Two processes (here: two services with separate locks) generating the same key: one row wins."""
    env.llm.latency = 0.2
    user = env.user()
    other = env.new_service()
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda s: s.personalize(user, LESSON), [env.service, other]))
    assert len(env.variants()) == 1
    assert results[0].personalized_content == results[1].personalized_content


def test_urdu_keeps_code_in_english(env):
    slug = env.lesson_slug("part-summary")
    user = env.user(URDU)
    variant = env.service.personalize(user, slug)
    body = "".join(env.fake.lessons)
    assert code_blocks(body) and "\r" not in body  # CRLF sources reach the model as LF
    for block in code_blocks(env.variants()[0].personalized_content):
        assert block in body  # every code block is the original's, verbatim
    assert "ur]" in variant.personalized_content
    system = env.llm.calls_to(CHAT)[0].body["messages"][0]["content"]
    assert "Urdu" in system and "in English" in system


@pytest.mark.parametrize("mode", ["drop_code", "alter_code", "empty", "preamble", "wrapper_fence", "short"])
def test_a_bad_answer_is_retried_once_with_a_correction(sqlite_env, mode):
    env = sqlite_env
    slug = env.lesson_slug("part-summary")  # has code blocks
    service = env.new_service(section_chars=10**6)  # one call per generation: the bad answer is deterministic
    env.fake.misbehave(mode)
    variant = service.personalize(env.user(), slug)
    assert not variant.cached
    calls = env.llm.calls_to(CHAT)
    assert len(calls) == 2
    retried = [c for c in calls if any("rejected" in m["content"] for m in c.body["messages"])]
    assert len(retried) == 1
    for block in code_blocks(env.fake.lessons[0]):
        assert block in variant.personalized_content


@pytest.mark.parametrize("mode", ["drop_code", "alter_code", "empty", "preamble", "wrapper_fence"])
def test_a_bad_answer_twice_fails_clearly_and_caches_nothing(env, mode):
    slug = env.lesson_slug("part-summary")
    env.fake.misbehave(mode, times=50)  # every section, both attempts
    user = env.user()
    with pytest.raises(UpstreamError) as info:
        env.service.personalize(user, slug)
    assert info.value.status_code == 502 and "guard" in info.value.message
    assert env.variants() == []
    env.fake.queue.clear()
    assert not env.service.personalize(user, slug).cached  # the refunded miss; a later request succeeds


@pytest.mark.parametrize("fault, error", [
    (Fault(kind="status", status=500, path=CHAT), UpstreamError),
    (Fault(kind="status", status=429, retry_after=0.01, path=CHAT), UpstreamError),
    (Fault(kind="slow", delay=2.0, path=CHAT), UpstreamTimeoutError),
])
def test_upstream_faults_leave_the_cache_clean(sqlite_env, fault, error):
    env = sqlite_env
    # The timeout must sit well under the slow fault's delay and well above a normal answer on a busy CI machine.
    service = env.new_service(make_generator(env.llm, timeout=0.6, attempts=2), section_chars=10**6)
    env.llm.fail_next(fault, times=2)
    user = env.user()
    with pytest.raises(error) as info:
        service.personalize(user, LESSON)
    assert info.value.status_code == (503 if error is UpstreamTimeoutError else 502)
    assert env.variants() == []
    assert not service.personalize(user, LESSON).cached and len(env.variants()) == 1


def test_transient_faults_are_absorbed(sqlite_env):
    env = sqlite_env
    env.llm.fail_next(Fault(kind="status", status=429, retry_after=0.25, path=CHAT))
    env.llm.fail_next(Fault(kind="status", status=503, path=CHAT))
    assert not env.service.personalize(env.user(), LESSON).cached
    assert 0.25 in env.sleeps and env.chat_calls() == env.sections(LESSON) + 2 and len(env.sleeps) == 2


def test_a_failure_in_one_section_caches_nothing(sqlite_env):
    env = sqlite_env
    service = env.new_service(section_chars=3000, concurrency=3)
    slug = env.lesson_slug("part-summary")
    env.llm.fail_next(Fault(kind="status", status=500, path=CHAT), times=10)
    with pytest.raises(UpstreamError):
        service.personalize(env.user(), slug)
    assert env.variants() == []


def test_long_lessons_are_personalized_by_section_and_reassembled(sqlite_env):
    env = sqlite_env
    service = env.new_service(section_chars=3000, concurrency=3)
    slug = env.lesson_slug("part-summary")
    variant = service.personalize(env.user(), slug)
    n = env.chat_calls()
    assert n > 1
    prompts = [c.body["messages"][1]["content"] for c in env.llm.calls_to(CHAT)]
    assert all(f"of {n} of a longer lesson" in p for p in prompts)
    original = "".join(sorted(env.fake.lessons, key=lambda piece: prompts[env.fake.lessons.index(piece)]))
    for block in code_blocks("".join(env.fake.lessons)):
        assert block in variant.personalized_content
    assert variant.personalized_content.index("# ") < 5 and original


def test_404s(env):
    with pytest.raises(NotFoundError):
        env.service.personalize(env.user(None, onboarded=False), LESSON)  # no preferences / not onboarded
    user = env.user()
    with pytest.raises(NotFoundError):
        env.service.personalize(user, "no/such-lesson")
    import uuid

    with pytest.raises(NotFoundError):
        env.service.personalize(uuid.uuid4(), LESSON)
    from sqlalchemy import select

    from bookctl.db import models as m

    with env.runtime.session() as session:
        planned = session.scalar(select(m.Lesson.slug).where(m.Lesson.status == "planned"))
    with pytest.raises(NotFoundError):
        env.service.personalize(user, planned)
    assert env.chat_calls() == 0


def test_rate_limit_counts_misses_only(env):
    service = env.new_service(miss_limit=2, miss_window=3600)
    user, other = env.user(BEGINNER), env.user(ADVANCED)
    slugs = [env.lesson_slug(s) for s in ("digital-vs-physical-ai", "embodiment-hypothesis", "real-world-constraints")]
    service.personalize(user, slugs[0])
    service.personalize(user, slugs[1])
    with pytest.raises(RateLimitedError) as info:
        service.personalize(user, slugs[2])
    assert info.value.status_code == 429 and info.value.detail["retry_after"] > 0
    assert service.personalize(user, slugs[0]).cached  # hits are never limited
    assert not service.personalize(other, slugs[2]).cached  # the limit is per user
    assert env.chat_calls() == sum(env.sections(s) for s in slugs)


def test_clear_cache_regenerates_for_the_caller_only(env):
    a, b = env.user(), env.user()
    first = env.service.personalize(a, LESSON)
    assert env.service.clear_cache(a) == 1
    assert env.service.personalize(b, LESSON).cached  # b is unaffected
    again = env.service.personalize(a, LESSON)
    assert not again.cached and again.generated_at >= first.generated_at
    assert env.service.personalize(a, LESSON).cached
    assert len(env.variants()) == 1 and env.chat_calls() == 2 * env.sections(LESSON)
