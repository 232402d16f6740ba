"""Old lesson URLs keep working after a move (issue 16): 301 for reads, the new route in `detail` for the rest,
and learners' progress stays with the lesson. SQLite and PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from litestar.testing import TestClient

from tests.api.conftest import SECRET, new_user
from tests.conftest import make_workspace

LESSON = "docs/01-Physical-AI-Foundations/01-what-is-physical-ai/02-lesson-embodiment-hypothesis.md"
SLUG = "what-is-physical-ai/lesson-embodiment-hypothesis"
OLD = "/docs/Physical-AI-Foundations/what-is-physical-ai/lesson-embodiment-hypothesis"
NEW = "/docs/embodiment"


def _move(book: Path, slug: str) -> None:
    path = book / LESSON
    text = path.read_text(encoding="utf-8")
    lines = [line for line in text.split("\n---\n", 1)[0].splitlines() if not line.startswith("slug:")]
    path.write_text("\n".join(lines + [f"slug: {slug}"]) + "\n---\n" + text.split("\n---\n", 1)[1], encoding="utf-8")


@pytest.fixture
def moved(tmp_path: Path, fixture_book: Path, migrated_db_url: str):
    """The fixture book synced, a learner with progress on the lesson, then the lesson moved and re-synced."""
    from bookctl.api.app import create_app
    from bookctl.config import load_settings
    from bookctl.runtime import Runtime

    ws = make_workspace(tmp_path / "ws", fixture_book, migrated_db_url)
    assert ws.run("sync").code == 0
    runtime = Runtime.open(load_settings({**ws.env, "BOOKCTL_SECRET_KEY": SECRET}))
    app = create_app(runtime)
    with TestClient(app, raise_server_exceptions=False) as client:
        _user, auth = new_user(client)
        assert client.post(f"/api/progress/lessons{OLD}/start", headers=auth).status_code == 200
        assert client.put(f"/api/progress/lessons{OLD}/time", json={"seconds": 90}, headers=auth).status_code == 200
        before = client.get(f"/api/content/lessons{OLD}").json()
        _move(fixture_book, "/embodiment")
        assert ws.run("sync").code == 0
        time.sleep(1.1)  # the content snapshot notices a sync within its 1 s ttl
        yield client, auth, before
    runtime.close()


def test_content_reads_of_an_old_route_answer_301(moved) -> None:
    client, _auth, before = moved
    r = client.get(f"/api/content/lessons{OLD}", follow_redirects=False)
    assert r.status_code == 301, r.text
    assert r.headers["location"] == f"/api/content/lessons{NEW}", r.text
    assert r.headers["location"] == f"/api/content/lessons{NEW}"
    assert r.json()["detail"]["route"] == NEW and r.json()["error"] == "lesson_moved"
    followed = client.get(r.headers["location"])
    assert followed.status_code == 200
    assert (followed.json()["id"], followed.json()["route"]) == (before["id"], NEW)

    body = client.get(f"/api/content/lessons{OLD}/content", follow_redirects=False)
    assert body.status_code == 301 and body.headers["location"] == f"/api/content/lessons{NEW}/content"
    assert "Embodiment" in client.get(body.headers["location"]).json()["content"]

    query = client.get("/api/content/lessons", params={"route": OLD}, follow_redirects=False)
    assert query.status_code == 301 and query.headers["location"] == "/api/content/lessons?route=%2Fdocs%2Fembodiment"
    # A slug never moved: it still answers directly.
    assert client.get(f"/api/content/lessons/{SLUG}").json()["route"] == NEW


def test_progress_stays_attached_and_writes_name_the_new_route(moved) -> None:
    client, auth, _before = moved
    now = client.get(f"/api/progress/lessons{NEW}", headers=auth)
    assert now.status_code == 200, now.text
    assert (now.json()["status"], now.json()["time_spent_seconds"]) == ("in_progress", 90)
    read = client.get(f"/api/progress/lessons{OLD}", headers=auth, follow_redirects=False)
    assert read.status_code == 301 and read.headers["location"] == f"/api/progress/lessons{NEW}"
    write = client.post(f"/api/progress/lessons{OLD}/complete", headers=auth, follow_redirects=False)
    assert write.status_code == 404
    assert write.json()["error"] == "lesson_moved"
    assert write.json()["detail"] == {"old_route": OLD.strip("/"), "route": NEW, "slug": SLUG}
