"""Personalization fixtures: a synced book on each dialect, the fake LLM over real HTTP, learners in the DB."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from bookctl.config import load_settings
from bookctl.db import models as m
from bookctl.llm.generate import OpenAIGenerator
from bookctl.llm.retry import RetryPolicy
from bookctl.personalization.service import PersonalizationService
from bookctl.runtime import Runtime
from tests.fakes.openai_server import FakeOpenAI, PersonalizeFake
from tests.live import LiveServer

LESSON = "what-is-physical-ai/lesson-embodiment-hypothesis"
CODE_LESSON = "part-summary"  # the fixture lesson with fenced code blocks (looked up by suffix below)

BEGINNER = dict(education_level="undergraduate", programming_experience="beginner", robotics_background=False,
                ai_ml_experience="none", learning_goals=["hobby"], preferred_language="en")
ADVANCED = dict(education_level="graduate", programming_experience="advanced", robotics_background=True,
                ai_ml_experience="advanced", learning_goals=["research"], preferred_language="en")
URDU = dict(BEGINNER, preferred_language="ur")


@pytest.fixture
def llm():
    """The fake OpenAI server (real HTTP) answering chat with the deterministic personalization transform."""
    with FakeOpenAI() as server:
        server.chat = PersonalizeFake()
        yield server


def make_generator(server: FakeOpenAI, *, model: str = "gpt-4o-mini", timeout: float = 5.0, attempts: int = 3,
                   sleeps: list[float] | None = None) -> OpenAIGenerator:
    record = sleeps if sleeps is not None else []
    return OpenAIGenerator(model=model, base_url=server.base_url, api_key="test", timeout=timeout,
                           retry=RetryPolicy(attempts=attempts, base_delay=0.01, max_delay=0.05),
                           sleep=lambda s: record.append(s))


@dataclass
class Env:
    ws: Any
    runtime: Runtime
    llm: FakeOpenAI
    generator: OpenAIGenerator
    service: PersonalizationService
    sleeps: list[float] = field(default_factory=list)

    @property
    def fake(self) -> PersonalizeFake:
        return self.llm.chat  # type: ignore[return-value]

    def chat_calls(self) -> int:
        return len(self.llm.calls_to("/v1/chat/completions"))

    def user(self, prefs: dict[str, Any] | None = BEGINNER, *, onboarded: bool = True) -> uuid.UUID:
        with self.runtime.session() as session:
            user = m.User(onboarding_completed=onboarded and prefs is not None)
            session.add(user)
            session.flush()
            if prefs is not None:
                session.add(m.UserPreferences(user_id=user.id, **prefs))
            return user.id

    def set_prefs(self, user_id: uuid.UUID, **changes: Any) -> None:
        with self.runtime.session() as session:
            prefs = session.get(m.User, user_id).preferences
            for k, v in changes.items():
                setattr(prefs, k, v)

    def variants(self) -> list[m.PersonalizedContent]:
        from sqlalchemy import select

        with self.runtime.session() as session:
            rows = list(session.scalars(select(m.PersonalizedContent)))
            session.expunge_all()
            return rows

    def lesson_slug(self, suffix: str) -> str:
        from sqlalchemy import select

        with self.runtime.session() as session:
            return next(s for s in session.scalars(select(m.Lesson.slug).where(m.Lesson.status == "written"))
                        if s.endswith(suffix))

    def sections(self, slug: str, service: PersonalizationService | None = None) -> int:
        """How many LLM calls one generation of this lesson takes (one per section)."""
        from sqlalchemy import select

        service = service or self.service
        with self.runtime.session() as session:
            lesson = session.scalar(select(m.Lesson).where(m.Lesson.slug == slug))
            return len(service.pieces(service.body_of(lesson)))

    def new_service(self, generator=None, **kwargs: Any) -> PersonalizationService:
        kwargs.setdefault("miss_limit", 1000)
        return PersonalizationService(self.runtime.sessions, self.runtime.store, generator or self.generator, **kwargs)


def _env(ws, llm: FakeOpenAI, **service_kwargs: Any) -> Env:
    result = ws.run("sync", "--json")
    assert result.code == 0, result.stderr
    settings = load_settings(ws.env)
    runtime = Runtime.open(settings)
    sleeps: list[float] = []
    generator = make_generator(llm, sleeps=sleeps)
    service_kwargs.setdefault("miss_limit", 1000)
    service = PersonalizationService(runtime.sessions, runtime.store, generator, **service_kwargs)
    return Env(ws, runtime, llm, generator, service, sleeps)


@pytest.fixture
def env(any_workspace, llm):
    """The fixture book synced on SQLite and on PostgreSQL, with a service over the fake LLM."""
    e = _env(any_workspace, llm)
    yield e
    e.runtime.close()


@pytest.fixture
def sqlite_env(workspace, llm):
    """Same, embedded SQLite only (for tests where the dialect does not matter)."""
    e = _env(workspace, llm)
    yield e
    e.runtime.close()


# ---------------------------------------------------------------- the app over real HTTP




def _serve_api(workspace, llm, *, timeout: float, attempts: int):
    from bookctl.api.app import create_app

    result = workspace.run("sync", "--json")
    assert result.code == 0, result.stderr
    settings = load_settings({**workspace.env, "BOOKCTL_SECRET_KEY": "s" * 40, "BOOKCTL_PERSONALIZE_MISS_LIMIT": "4"})
    runtime = Runtime.open(settings)
    generator = make_generator(llm, timeout=timeout, attempts=attempts)
    service = PersonalizationService.from_runtime(runtime, generator)
    app = create_app(runtime, generator=generator, personalization=service)
    env = Env(workspace, runtime, llm, generator, service)
    try:
        with LiveServer(app) as server:
            yield env, server.url
    finally:
        runtime.close()


@pytest.fixture
def api(any_workspace, llm):
    """(Env, base URL): the learner API with personalization over real HTTP, on each dialect. Its LLM client
    gives up fast (0.5 s, 2 attempts) so the fault tests run quickly."""
    yield from _serve_api(any_workspace, llm, timeout=0.5, attempts=2)


@pytest.fixture
def patient_api(any_workspace, llm):
    """`api` with an LLM client that waits long and never retries: every chat call the fake server sees is one
    section of one generation, so the single-flight tests can count generations exactly on a loaded machine."""
    yield from _serve_api(any_workspace, llm, timeout=60.0, attempts=1)
