"""Single flight and the miss limit across processes, on SQLite and PostgreSQL (issue 10).

Separate PersonalizationService instances share no in-process lock, so for the database they are separate
processes; tests/test_topology.py does the same with real `bookctl serve` processes on PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from bookctl.db import models as m
from bookctl.errors import RateLimitedError
from bookctl.personalization import repository as repo
from bookctl.personalization.service import utcnow
from tests.personalization.conftest import ADVANCED, BEGINNER, LESSON

CHAT = "/v1/chat/completions"


def test_four_services_one_generation(env):
    env.llm.latency = 0.3
    services = [env.service] + [env.new_service() for _ in range(3)]
    user = env.user()
    barrier = threading.Barrier(40)

    def request(i: int):
        barrier.wait()
        return services[i % 4].personalize(user, LESSON)

    with ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(request, range(40)))
    assert env.chat_calls() == env.sections(LESSON)
    assert sum(not r.cached for r in results) == 1 and len({r.personalized_content for r in results}) == 1


def test_an_expired_claim_of_a_dead_generator_is_taken_over(env):
    """A claim whose owner stopped renewing it (a killed process) blocks only until its lease runs out."""
    user = env.user()
    service = env.new_service(lease=1.0, poll_interval=0.05)
    key, *_ = service.lookup(user, LESSON)
    import hashlib

    claim_key = hashlib.sha256(key.custom_id.encode()).hexdigest()
    with env.runtime.session() as session:
        assert repo.claim(session, claim_key, "dead-process", utcnow(), utcnow() + timedelta(seconds=1.0)) == "dead-process"
    started = time.monotonic()
    variant = service.personalize(user, LESSON)
    waited = time.monotonic() - started
    assert not variant.cached and waited >= 0.5  # it waited for the lease, then generated
    assert env.chat_calls() == env.sections(LESSON)
    with env.runtime.session() as session:
        assert session.get(m.PersonalizationClaim, claim_key) is None  # released after storing


def test_a_live_generator_renews_its_claim(env):
    """Generation longer than the lease: renewals keep the claim, so nobody else starts a second one."""
    env.llm.latency = 1.2
    user = env.user()
    a, b = env.new_service(lease=0.6, poll_interval=0.05), env.new_service(lease=0.6, poll_interval=0.05)
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(a.personalize, user, LESSON)
        time.sleep(0.3)
        second = pool.submit(b.personalize, user, LESSON)
        results = [first.result(timeout=60), second.result(timeout=60)]
    assert env.chat_calls() == env.sections(LESSON)
    assert [r.cached for r in results] == [False, True]


def test_miss_limit_exact_over_two_services(env):
    env.llm.latency = 0.2
    services = [env.new_service(miss_limit=2), env.new_service(miss_limit=2)]
    user = env.user(ADVANCED)
    with env.runtime.session() as session:
        from sqlalchemy import select

        slugs = list(session.scalars(select(m.Lesson.slug).where(m.Lesson.status == "written",
                                                                  m.Lesson.type == "lesson").limit(8)))
    assert len(slugs) == 8
    barrier = threading.Barrier(8)

    def request(i: int):
        barrier.wait()
        try:
            return services[i % 2].personalize(user, slugs[i])
        except RateLimitedError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(request, range(8)))
    limited = [r for r in results if isinstance(r, RateLimitedError)]
    assert len(limited) == 6 and all(r.detail["retry_after"] > 0 for r in limited)
    generated = [s for s, r in zip(slugs, results) if not isinstance(r, RateLimitedError)]
    assert env.chat_calls() == sum(env.sections(s) for s in generated)


@pytest.mark.parametrize("profile", [BEGINNER])
def test_claims_are_released_when_generation_fails(env, profile):
    from tests.fakes.openai_server import Fault

    user = env.user(profile)
    service = env.new_service(miss_limit=5)
    env.llm.fail_next(Fault(kind="status", status=400, path=CHAT), times=50)
    with pytest.raises(Exception):
        service.personalize(user, LESSON)
    env.llm.faults.clear()
    with env.runtime.session() as session:
        from sqlalchemy import func, select

        assert session.scalar(select(func.count()).select_from(m.PersonalizationClaim)) == 0
        assert session.scalar(select(func.count()).select_from(m.PersonalizationMiss)) == 0  # refunded
    assert not service.personalize(user, LESSON).cached  # nobody waits for a lease: the claim is gone
