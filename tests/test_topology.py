"""Several `bookctl serve` processes on one PostgreSQL behave as one (issue 10).

Four replicas (separate processes, as behind a load balancer) share one embedded PostgreSQL of their own and
the local OpenAI-compatible server, which answers with latency so that requests overlap. Checked here:
- single flight: 100 concurrent requests for one uncached variant over 4 processes cost exactly the LLM calls
  of one generation; killing the generating process mid-way costs at most one more generation;
- the per-learner miss limit is exact across processes (and failed generations are refunded);
- 50 learners sending time deltas to random processes lose nothing;
- /readyz names the database while it is stopped and recovers when it is back; /healthz stays up;
- SIGTERM during a generation: the generation finishes and is stored, new requests get 503.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_workspace
from tests.fakes.openai_server import Fault, FakeOpenAI, PersonalizeFake
from tests.topology import OwnPostgres, Replica, start_replicas

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
CHAT = "/v1/chat/completions"
REPLICAS = 4
LEASE = 6.0  # a live generator renews every lease/4: long enough that a starved 2-core CI box still renews in time
_PROFILES = itertools.product(["none", "beginner", "intermediate", "advanced"], ["none", "basic", "intermediate", "advanced"],
                              [False, True], ["en", "ur"])


@dataclass
class Deployment:
    root: Path
    env: dict[str, str]
    llm: FakeOpenAI
    pg: OwnPostgres
    replicas: list[Replica]
    lessons: list[str]
    sections: dict[str, int]
    extra: list[Replica] = field(default_factory=list)

    def chat_calls(self) -> int:
        return len(self.llm.calls_to(CHAT))

    def learner(self, url: str | None = None) -> dict[str, str]:
        """A new learner with a profile no other test uses (so every variant it asks for starts uncached)."""
        url = url or self.replicas[0].url
        experience, ai_ml, robotics, language = next(_PROFILES)
        token = httpx.post(url + "/api/user/create", json={}, timeout=30).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        prefs = dict(education_level="professional", programming_experience=experience, robotics_background=robotics,
                     ai_ml_experience=ai_ml, learning_goals=["building_projects"], preferred_language=language)
        assert httpx.post(url + "/api/onboarding", json=prefs, headers=auth, timeout=30).status_code == 200
        return auth

    def replica(self, env: dict[str, str] | None = None) -> Replica:
        replica = Replica({**self.env, **(env or {})}, self.root,
                          log=self.root / f"extra-{len(self.extra)}.log").wait_ready()
        self.extra.append(replica)
        return replica


def _sections(settings, slugs: list[str]) -> dict[str, int]:
    """LLM calls one generation of each lesson takes (one per section), as the service splits it."""
    from sqlalchemy import select

    from bookctl.db import models as m
    from bookctl.personalization.service import PersonalizationService
    from bookctl.runtime import Runtime

    runtime = Runtime.open(settings)
    try:
        from types import SimpleNamespace

        service = PersonalizationService(runtime.sessions, runtime.store, SimpleNamespace(model="any"))  # type: ignore[arg-type]
        with runtime.session() as session:
            lessons = {l.slug: l for l in session.scalars(select(m.Lesson).where(m.Lesson.slug.in_(slugs)))}
            return {slug: len(service.pieces(service.body_of(lessons[slug]))) for slug in slugs}
    finally:
        runtime.close()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, request):
    import shutil

    from sqlalchemy import select

    from bookctl.config import load_settings
    from bookctl.db import models as m
    from bookctl.db.engine import make_engine
    from tests.conftest import FIXTURE_BOOK

    root = tmp_path_factory.mktemp("topology")
    book = root / "book"
    shutil.copytree(FIXTURE_BOOK, book, ignore=shutil.ignore_patterns("contract"))
    pg = OwnPostgres()
    llm = FakeOpenAI(latency=0.3)
    llm.chat = PersonalizeFake()
    llm.start()
    replicas: list[Replica] = []
    try:
        url = pg.database()
        ws = make_workspace(root / "ws", book, url)
        assert ws.run("db", "upgrade").code == 0  # migrations once per release, before any replica starts
        result = ws.run("sync", "--json")
        assert result.code == 0, result.stderr
        env = {**ws.subprocess_env(), "BOOKCTL_SECRET_KEY": "k" * 48, "OPENAI_BASE_URL": llm.base_url,
               "OPENAI_API_KEY": "test", "BOOKCTL_PERSONALIZE_MISS_LIMIT": "2", "BOOKCTL_PERSONALIZE_LEASE": str(LEASE),
               "BOOKCTL_LLM_MAX_ATTEMPTS": "1", "BOOKCTL_LLM_TIMEOUT": "20", "BOOKCTL_EMBEDDINGS": "openai:fake"}
        engine = make_engine(url)
        with engine.connect() as conn:
            slugs = sorted(conn.execute(select(m.Lesson.slug).where(m.Lesson.status == "written",
                                                                     m.Lesson.type == "lesson")).scalars())
        engine.dispose()
        assert len(slugs) >= 8, slugs  # each test's learner has a profile of its own: variants start uncached
        sections = _sections(load_settings(env), slugs)
        replicas = start_replicas(REPLICAS, env, root, log_dir=root)
        deploy = Deployment(root, env, llm, pg, replicas, slugs, sections)
        yield deploy
        for replica in deploy.extra:
            replica.stop()
    finally:
        for replica in replicas:
            replica.stop()
        llm.stop()
        pg.cleanup()


async def _burst(requests: list[tuple[str, dict, dict]], timeout: float = 120.0) -> list[httpx.Response | Exception]:
    limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
        async def one(url: str, body: dict, headers: dict):
            try:
                return await client.post(url + "/api/personalize", json=body, headers=headers)
            except httpx.HTTPError as exc:
                return exc
        return await asyncio.gather(*(one(*r) for r in requests))


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _metric(url: str, name: str) -> float:
    text = httpx.get(url + "/metrics", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


# ---------------------------------------------------------------- single flight

def test_single_flight_100_requests_over_4_processes(deployment: Deployment) -> None:
    d = deployment
    auth = d.learner()
    slug = d.lessons[0]
    before = d.chat_calls()
    waits_before = sum(_metric(r.url, "bookctl_single_flight_waits_total") for r in d.replicas)
    responses = asyncio.run(_burst([(d.replicas[i % REPLICAS].url, {"lesson_slug": slug}, auth) for i in range(100)]))
    assert all(isinstance(r, httpx.Response) and r.status_code == 200 for r in responses), \
        [getattr(r, "status_code", r) for r in responses]
    assert len({r.json()["personalized_content"] for r in responses}) == 1
    assert sum(not r.json()["cached"] for r in responses) == 1  # one generator, everyone else served the stored row
    assert d.chat_calls() - before == d.sections[slug]  # exactly the LLM calls of one generation
    waits = sum(_metric(r.url, "bookctl_single_flight_waits_total") for r in d.replicas) - waits_before
    assert waits >= 1  # other processes did wait on the generator's claim


def test_generator_killed_mid_way_costs_at_most_one_more_generation(deployment: Deployment) -> None:
    d = deployment
    auth = d.learner()
    slug = d.lessons[1]
    victim = d.replica()
    d.llm.latency = 1.5  # the victim is surely mid-generation when it dies
    try:
        before = d.chat_calls()
        first: list = []
        leader = threading.Thread(target=lambda: first.extend(asyncio.run(_burst([(victim.url, {"lesson_slug": slug}, auth)]))))
        leader.start()
        _wait_for(lambda: d.chat_calls() > before, 20, "the victim's first LLM call")
        waiters: list = []
        others = threading.Thread(target=lambda: waiters.extend(asyncio.run(_burst(
            [(d.replicas[i % REPLICAS].url, {"lesson_slug": slug}, auth) for i in range(99)]))))
        others.start()
        time.sleep(0.3)  # the 99 are waiting on the victim's claim
        victim.signal(signal.SIGKILL)
        others.join(timeout=120)
        leader.join(timeout=30)
    finally:
        d.llm.latency = 0.3
    assert not others.is_alive()
    assert isinstance(first[0], Exception) or first[0].status_code >= 500  # the killed process never answered
    assert all(isinstance(r, httpx.Response) and r.status_code == 200 for r in waiters), \
        [getattr(r, "status_code", r) for r in waiters]
    assert len({r.json()["personalized_content"] for r in waiters}) == 1
    calls = d.chat_calls() - before
    assert d.sections[slug] < calls <= 2 * d.sections[slug]  # the dead one's partial work + exactly one takeover


# ---------------------------------------------------------------- the miss limit

def test_miss_limit_is_exact_across_processes(deployment: Deployment) -> None:
    d = deployment
    auth = d.learner()
    slugs = d.lessons[:8]
    before = d.chat_calls()
    responses = asyncio.run(_burst([(d.replicas[i % REPLICAS].url, {"lesson_slug": s}, auth) for i, s in enumerate(slugs)]))
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] * 2 + [429] * 6, codes
    for r in responses:
        if r.status_code == 429:
            assert int(r.headers["Retry-After"]) > 0
    generated = [s for s, r in zip(slugs, responses) if r.status_code == 200]
    assert d.chat_calls() - before == sum(d.sections[s] for s in generated)


def test_failed_generation_is_refunded_across_processes(deployment: Deployment) -> None:
    d = deployment
    auth = d.learner()
    failing, ok1, ok2, over = d.lessons[:4]
    d.llm.fail_next(Fault(kind="status", status=500, path=CHAT), times=d.sections[failing])
    r = httpx.post(d.replicas[0].url + "/api/personalize", json={"lesson_slug": failing}, headers=auth, timeout=60)
    assert r.status_code in (502, 503), r.text
    for replica, slug in ((d.replicas[1], ok1), (d.replicas[2], ok2)):  # the refund left room for two
        r = httpx.post(replica.url + "/api/personalize", json={"lesson_slug": slug}, headers=auth, timeout=60)
        assert r.status_code == 200, r.text
    r = httpx.post(d.replicas[3].url + "/api/personalize", json={"lesson_slug": over}, headers=auth, timeout=60)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0


# ---------------------------------------------------------------- progress

def test_time_deltas_from_50_learners_to_random_processes_lose_nothing(deployment: Deployment) -> None:
    d = deployment
    rng = random.Random(10)
    learners = [httpx.post(rng.choice(d.replicas).url + "/api/user/create", json={}, timeout=30).json()["token"]
                for _ in range(50)]
    lessons = d.lessons[:3]
    sent: dict[tuple[int, str], int] = {}
    failures: list = []
    duration = 8.0

    async def learner(index: int, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        # a fresh connection per request: a keep-alive connection the server closes just as it is reused would
        # fail a request that may or may not have been applied, which is the client's problem, not the server's
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_keepalive_connections=0)) as client:
            end = time.monotonic() + duration
            while time.monotonic() < end:
                slug, seconds = rng.choice(lessons), rng.randint(1, 120)
                url = rng.choice(d.replicas).url
                r = await client.put(f"{url}/api/progress/lessons/{slug}/time", json={"seconds": seconds}, headers=headers)
                if r.status_code == 200:
                    sent[(index, slug)] = sent.get((index, slug), 0) + seconds
                else:
                    failures.append((r.status_code, r.text[:200]))

    async def everyone() -> None:
        await asyncio.gather(*(learner(i, t) for i, t in enumerate(learners)))

    asyncio.run(everyone())
    assert not failures, failures[:5]
    assert len(sent) > 50
    for (index, slug), total in sent.items():
        r = httpx.get(f"{d.replicas[index % REPLICAS].url}/api/progress/lessons/{slug}",
                      headers={"Authorization": f"Bearer {learners[index]}"}, timeout=30)
        assert r.json()["time_spent_seconds"] == total, (index, slug)


# ---------------------------------------------------------------- readiness

def test_readiness_follows_the_database_down_and_up(deployment: Deployment) -> None:
    d = deployment
    for replica in d.replicas:
        r = httpx.get(replica.url + "/readyz", timeout=10)
        assert r.status_code == 200 and r.json()["status"] == "ready", r.text
    d.pg.stop()
    try:
        for replica in d.replicas:
            r = httpx.get(replica.url + "/readyz", timeout=30)
            assert r.status_code == 503 and "database" in r.json()["failing"], r.text
            assert httpx.get(replica.url + "/healthz", timeout=10).status_code == 200  # liveness: do not restart us
    finally:
        d.pg.start()
    for replica in d.replicas:
        _wait_for(lambda: httpx.get(replica.url + "/readyz", timeout=10).status_code == 200, 30, "ready again")
    auth = d.learner()  # and the replicas serve again
    assert httpx.get(d.replicas[1].url + "/api/progress", headers=auth, timeout=30).status_code == 200


# ---------------------------------------------------------------- graceful shutdown

def test_sigterm_during_a_generation_finishes_it_and_refuses_new_requests(deployment: Deployment) -> None:
    d = deployment
    auth = d.learner()
    slug = d.lessons[2]
    draining = d.replica({"BOOKCTL_SHUTDOWN_DELAY": "2"})
    d.llm.latency = 1.5
    try:
        before = d.chat_calls()
        result: list = []
        inflight = threading.Thread(target=lambda: result.extend(asyncio.run(_burst([(draining.url, {"lesson_slug": slug}, auth)]))))
        inflight.start()
        _wait_for(lambda: d.chat_calls() > before, 20, "the generation to start")
        draining.signal(signal.SIGTERM)
        time.sleep(0.2)
        refused = httpx.get(draining.url + "/api/progress", headers=auth, timeout=10)
        assert refused.status_code == 503 and refused.json()["error"] == "shutting_down"
        ready = httpx.get(draining.url + "/readyz", timeout=10)
        assert ready.status_code == 503 and ready.json()["failing"] == ["draining"]
        inflight.join(timeout=60)
        draining.proc.wait(timeout=30)
    finally:
        d.llm.latency = 0.3
    assert isinstance(result[0], httpx.Response) and result[0].status_code == 200, result
    assert result[0].json()["cached"] is False
    again = httpx.post(d.replicas[0].url + "/api/personalize", json={"lesson_slug": slug}, headers=auth, timeout=30)
    assert again.json()["cached"] is True  # the generation finished and was stored before the process exited
