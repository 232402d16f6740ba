"""The one lesson resolver (bookctl/content/resolver.py) through every API path that takes a lesson: content,
personalize and progress agree on what a reference means, and an ambiguous one is a 404 with the candidates."""

from __future__ import annotations

import shutil

import pytest
from litestar.testing import TestClient

from bookctl.api.app import create_app
from bookctl.content.resolver import normalize_ref
from tests.api.conftest import ONBOARDING, _build_env, new_user, open_runtime
from tests.conftest import FIXTURE_BOOK

A = "what-is-physical-ai/lesson-embodiment-hypothesis"
CLASH = "/docs/what-is-physical-ai/lesson-embodiment-hypothesis"


@pytest.fixture(scope="module")
def clash_client(tmp_path_factory):
    """A book where one lesson's front-matter slug makes its route read like "/docs/" + another lesson's slug."""
    tmp = tmp_path_factory.mktemp("clash")
    src = tmp / "src"
    shutil.copytree(FIXTURE_BOOK, src, ignore=shutil.ignore_patterns("contract"))
    lesson = src / "docs" / "01-Physical-AI-Foundations" / "02-sensors-actuators-humanoid-body" / \
        "03-lesson-humanoid-body-plan.md"
    text = lesson.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    lesson.write_text("---\nslug: /what-is-physical-ai/lesson-embodiment-hypothesis\n" + text[4:], encoding="utf-8")
    env = _build_env(tmp / "env", src, None, augment=False)
    runtime = open_runtime(env)
    with TestClient(create_app(runtime), raise_server_exceptions=False) as c:
        yield c
    runtime.close()


def test_normalize_ref():
    assert normalize_ref(" /docs/a/b/?x=1#h ") == "docs/a/b"
    assert normalize_ref("http://localhost:3000//docs//a%20b/") == "docs/a b"
    assert normalize_ref("docs/what%3F/x") == "docs/what?/x"  # an encoded ? is part of the name


def test_an_ambiguous_reference_is_a_404_listing_the_candidates_on_every_path(clash_client):
    c = clash_client
    _, auth = new_user(c)
    assert c.post("/api/onboarding", json=ONBOARDING, headers=auth).status_code == 200
    answers = [
        c.get("/api/content/lessons", params={"route": CLASH}),
        c.get(f"/api/content/lessons{CLASH}"),
        c.get(f"/api/content/lessons{CLASH}/content"),
        c.get(f"/api/progress/lessons{CLASH}", headers=auth),
        c.post(f"/api/progress/lessons{CLASH}/start", headers=auth),
        c.put(f"/api/progress/lessons{CLASH}/time", json={"seconds": 5}, headers=auth),
        c.post("/api/personalize", json={"lesson_slug": CLASH + "/"}, headers=auth),
    ]
    for r in answers:
        assert r.status_code == 404, r.text
        detail = r.json()["detail"]
        assert detail["reason"] == "ambiguous", r.text
        slugs = {x["slug"] for x in detail["candidates"]}
        assert A in slugs and len(slugs) == 2
    # each candidate's own slug is unambiguous, on every path
    for slug in sorted(slugs):
        assert c.get(f"/api/content/lessons/{slug}").json()["slug"] == slug
        assert c.post(f"/api/progress/lessons/{slug}/start", headers=auth).json()["slug"] == slug


def test_every_path_takes_every_form(client):
    _, auth = new_user(client)
    route = "/docs/Physical-AI-Foundations/what-is-physical-ai/lesson-embodiment-hypothesis"
    forms = [A, route, route + "/", route + "?a=1#b", "01-Physical-AI-Foundations/01-what-is-physical-ai/"
             "02-lesson-embodiment-hypothesis.md"]
    for ref in forms:
        assert client.get("/api/content/lessons", params={"route": ref}).json()["slug"] == A, ref
        assert client.get(f"/api/progress/lessons/{ref.lstrip('/')}", headers=auth).json()["slug"] == A, ref
