"""API fixtures: a synced book on each dialect (built once per session), the app, clients, a live uvicorn server."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import FIXTURE_BOOK, SAMPLE_BOOK, create_pg_database, make_workspace
from tests.live import LiveServer, free_port  # noqa: F401  (re-exported for the API tests)

SECRET = "test-secret-key-0123456789abcdefghijklmnop"


def augment_fixture_book(book: Path) -> None:
    """Give the (otherwise flat) robotics book a chapter prerequisite, a lesson prerequisite, a goal tag and
    a higher-layer lesson, so every recommendation rule has something to act on."""
    outline = book / "curriculum.md"
    text = outline.read_text(encoding="utf-8")
    heading = "### Chapter 3: The Humanoid Robotics Landscape\n"
    assert heading in text
    outline.write_text(text.replace(heading, heading + "\n**Prerequisites:** Chapter 1\n", 1), encoding="utf-8")
    part = book / "docs" / "01-Physical-AI-Foundations"

    def front(path: Path, lines: str) -> None:
        body = path.read_text(encoding="utf-8")
        assert body.startswith("---\n")
        path.write_text("---\n" + lines + body[4:], encoding="utf-8")

    chapter2 = part / "02-sensors-actuators-humanoid-body"
    front(chapter2 / "03-lesson-humanoid-body-plan.md",
          "prerequisites:\n  - sensors-actuators-humanoid-body/lesson-robot-sensors\n")
    front(chapter2 / "02-lesson-actuators-motors.md", "tags: [actuators, building_projects]\n")
    front(next((part / "03-humanoid-robotics-landscape").glob("*lab*.md")), "layer: L2\n")


@dataclass
class Env:
    """A synced book in a database, and the settings to reach it."""

    name: str
    settings: object
    root: Path


def _build_env(tmp: Path, book_src: Path, url: str | None, augment: bool) -> Env:
    from bookctl.config import load_settings
    from bookctl.db.engine import make_engine
    from bookctl.db.migrate import upgrade

    book = tmp / "book"
    shutil.copytree(book_src, book, ignore=shutil.ignore_patterns("contract"))
    if augment:
        augment_fixture_book(book)
    url = url or f"sqlite:///{tmp / 'api.db'}"
    engine = make_engine(url)
    upgrade(engine, url)
    engine.dispose()
    ws = make_workspace(tmp / "ws", book, url)
    result = ws.run("sync", "--json")
    assert result.code == 0, result.stderr
    settings = load_settings({**ws.env, "BOOKCTL_SECRET_KEY": SECRET})
    return Env(url.split(":", 1)[0], settings, tmp)


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def book_env(request, tmp_path_factory) -> Env:
    """The (augmented) robotics book synced into SQLite and into PostgreSQL."""
    url = None if request.param == "sqlite" else create_pg_database(request)
    return _build_env(tmp_path_factory.mktemp(f"api-{request.param}"), FIXTURE_BOOK, url, augment=True)


@pytest.fixture(scope="session")
def sqlite_env(tmp_path_factory) -> Env:
    return _build_env(tmp_path_factory.mktemp("api-fixture-sqlite"), FIXTURE_BOOK, None, augment=True)


@pytest.fixture(scope="session")
def sample_env(tmp_path_factory) -> Env:
    """The bundled sample book (curriculum/) synced into SQLite."""
    return _build_env(tmp_path_factory.mktemp("api-sample"), SAMPLE_BOOK, None, augment=False)


def open_runtime(env: Env):
    from bookctl.runtime import Runtime

    return Runtime.open(env.settings)


@pytest.fixture(scope="session")
def runtime(sqlite_env):
    rt = open_runtime(sqlite_env)
    yield rt
    rt.close()


@pytest.fixture(scope="session")
def client(runtime):
    """An in-process client on the SQLite fixture book (fast; the live-server tests use real HTTP)."""
    from litestar.testing import TestClient

    from bookctl.api.app import create_app

    with TestClient(create_app(runtime), raise_server_exceptions=False) as c:
        yield c


def new_user(client) -> tuple[str, dict[str, str]]:
    r = client.post("/api/user/create", json={})
    assert r.status_code == 201, r.text
    body = r.json()
    return body["id"], {"Authorization": f"Bearer {body['token']}"}


ONBOARDING = {
    "education_level": "undergraduate", "programming_experience": "intermediate", "robotics_background": False,
    "ai_ml_experience": "basic", "learning_goals": ["building_projects"], "preferred_language": "en",
}
