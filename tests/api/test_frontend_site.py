"""The book's Docusaurus site against bookctl in header mode, over real HTTP: its seven calls replayed exactly as
its source builds them (base http://localhost:8000/api, Origin http://localhost:3000, never an Authorization
header), in its order, with the CORS preflights a browser sends first, and each answer checked the way the site's
code reads it. Once with the site at the root, once deployed under a baseUrl."""

from __future__ import annotations

import uuid
from dataclasses import replace

import httpx
import pytest

from bookctl.api.app import create_app
from tests.api.conftest import ONBOARDING, LiveServer, open_runtime
from tests.fakes.openai_server import FakeOpenAI, PersonalizeFake
from tests.personalization.conftest import make_generator

ORIGIN = "http://localhost:3000"
ROUTE = "/docs/Physical-AI-Foundations/what-is-physical-ai/lesson-embodiment-hypothesis"
SLUG = "what-is-physical-ai/lesson-embodiment-hypothesis"
BASE_URL = "/ai-native-robotics/"


def preflight(http: httpx.Client, method: str, path: str, headers: list[str]) -> None:
    """What the browser sends before a non-simple cross-origin request; the real request only follows a 2xx
    that allows this origin, method and headers."""
    r = http.options(path, headers={"Origin": ORIGIN, "Access-Control-Request-Method": method,
                                    "Access-Control-Request-Headers": ",".join(headers)})
    assert 200 <= r.status_code < 300, (path, r.status_code, r.text)
    assert r.headers["access-control-allow-origin"] in (ORIGIN, "*")
    assert method in r.headers["access-control-allow-methods"]
    allowed = {h.strip().lower() for h in r.headers.get("access-control-allow-headers", "").split(",")}
    assert {h.lower() for h in headers} <= allowed, (headers, allowed)


def cors_ok(r: httpx.Response) -> httpx.Response:
    assert r.headers.get("access-control-allow-origin") in (ORIGIN, "*"), r.headers
    return r


@pytest.fixture
def llm():
    with FakeOpenAI() as server:
        server.chat = PersonalizeFake()
        yield server


def serve(sqlite_env, llm, **settings):
    runtime = open_runtime(replace(sqlite_env, settings=replace(sqlite_env.settings, auth="header", **settings)))
    return runtime, create_app(runtime, generator=make_generator(llm))


@pytest.mark.parametrize("site_base", ["", BASE_URL])
def test_the_sites_seven_calls_in_header_mode(sqlite_env, llm, site_base):
    runtime, app = serve(sqlite_env, llm, site_base_url=site_base.rstrip("/"))
    pathname = (site_base.rstrip("/") + ROUTE + "/") if site_base else ROUTE  # window.location.pathname
    # a profile no other test uses, so the first personalize call is a miss (variants are shared per profile)
    level, ai = ("professional", "intermediate") if site_base else ("high_school", "none")
    profile = {**ONBOARDING, "education_level": level, "ai_ml_experience": ai, "robotics_background": True,
               "learning_goals": ["teaching", "hobby"]}
    user_id = str(uuid.uuid4())  # the site makes the id (crypto.randomUUID) and keeps it in localStorage
    json_headers = {"Origin": ORIGIN, "Content-Type": "application/json"}
    user_headers = {"Origin": ORIGIN, "X-User-ID": user_id}
    try:
        with LiveServer(app) as server, httpx.Client(base_url=server.url + "/api", timeout=20) as http:
            # 1. GET /user/{uuid}, no headers but the browser's Origin (a simple request: no preflight).
            #    404 is what makes the site create the user.
            r = cors_ok(http.get(f"/user/{user_id}", headers={"Origin": ORIGIN}))
            assert r.status_code == 404, r.text
            assert set(r.json()) == {"error", "message", "detail"}
            # 2. POST /user/create {user_id}
            preflight(http, "POST", "/user/create", ["content-type"])
            r = cors_ok(http.post("/user/create", json={"user_id": user_id}, headers=json_headers))
            assert 200 <= r.status_code < 300 and r.json()["id"] == user_id
            # 3. POST /onboarding {user_id, six preferences}: the site reads `ok`, else `message`
            preflight(http, "POST", "/onboarding", ["content-type"])
            r = cors_ok(http.post("/onboarding", json={"user_id": user_id, **profile}, headers=json_headers))
            assert r.is_success, r.json()["message"]
            # back on a lesson page, call 1 again now reads onboarding_completed
            r = cors_ok(http.get(f"/user/{user_id}", headers={"Origin": ORIGIN}))
            assert r.status_code == 200 and r.json()["onboarding_completed"] is True
            # 4. GET /user/preferences with X-User-ID: the six fields
            preflight(http, "GET", "/user/preferences", ["x-user-id"])
            prefs = cors_ok(http.get("/user/preferences", headers=user_headers)).json()
            assert {k: prefs[k] for k in profile} == profile
            # 5. POST /personalize {lesson_slug: window.location.pathname, original_content: innerText}
            preflight(http, "POST", "/personalize", ["content-type", "x-user-id"])
            body = {"lesson_slug": pathname, "original_content": "Embodiment hypothesis ... (the page's innerText)"}
            r = cors_ok(http.post("/personalize", json=body, headers={**json_headers, "X-User-ID": user_id}))
            assert r.status_code == 200, r.text
            first = r.json()
            assert first["cached"] is False and first["personalized_content"].strip()
            assert "innerText" not in first["personalized_content"]  # client text never reaches the LLM
            again = http.post("/personalize", json=body, headers={**json_headers, "X-User-ID": user_id}).json()
            assert again["cached"] is True and again["personalized_content"] == first["personalized_content"]
            # 6. PUT /user/preferences, partial: the full object back, learning_goals an array
            preflight(http, "PUT", "/user/preferences", ["content-type", "x-user-id"])
            r = cors_ok(http.put("/user/preferences", json={"programming_experience": "advanced"},
                                 headers={**json_headers, "X-User-ID": user_id}))
            assert r.status_code == 200
            full = r.json()
            assert set(ONBOARDING) <= set(full) and full["programming_experience"] == "advanced"
            assert isinstance(full["learning_goals"], list) and full["education_level"] == level
            changed = http.post("/personalize", json=body, headers={**json_headers, "X-User-ID": user_id}).json()
            assert changed["cached"] is False  # a new profile selects a new variant
            # 7. DELETE /personalize/cache with X-User-ID (its answer is ignored; it must not fail)
            preflight(http, "DELETE", "/personalize/cache", ["x-user-id"])
            r = cors_ok(http.delete("/personalize/cache", headers=user_headers))
            assert r.is_success, r.text
            fresh = http.post("/personalize", json=body, headers={**json_headers, "X-User-ID": user_id}).json()
            assert fresh["cached"] is False  # cleared for this learner: regenerated
    finally:
        runtime.close()


@pytest.mark.parametrize("variant", [
    "{base}{route}", "{base}{route}/", "{base}{route}?tab=personalized", "{base}{route}/#embodiment",
    "{base}/docs/Physical-AI-Foundations/what-is-physical-ai/lesson%2Dembodiment%2Dhypothesis/",
    "http://localhost:3000{base}{route}/",
])
def test_the_pathname_as_the_browser_sends_it(client, sqlite_env, variant):
    """BOOKCTL_SITE_BASE_URL is stripped at request time (no re-sync); a trailing slash, percent-encoding, a
    ?query, a #hash, even a whole URL do not matter. The same book, synced once, served with and without it."""
    from litestar.testing import TestClient

    ref = variant.format(base="", route=ROUTE)
    r = client.get("/api/content/lessons", params={"route": ref})
    assert r.status_code == 200 and r.json()["slug"] == SLUG, (ref, r.text)

    runtime = open_runtime(replace(sqlite_env, settings=replace(sqlite_env.settings, site_base_url="/ai-native-robotics")))
    try:
        with TestClient(create_app(runtime)) as based:
            ref = variant.format(base="/ai-native-robotics", route=ROUTE)
            r = based.get("/api/content/lessons", params={"route": ref})
            assert r.status_code == 200 and r.json()["slug"] == SLUG, (ref, r.text)
            # without the setting the prefixed pathname is unknown, not guessed
            assert client.get("/api/content/lessons", params={"route": ref}).status_code == 404
    finally:
        runtime.close()


def test_header_mode_mismatches_are_403(sqlite_env, llm):
    from litestar.testing import TestClient

    runtime, app = serve(sqlite_env, llm)
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    try:
        with TestClient(app) as c:
            assert c.post("/api/user/create", json={"user_id": a}).status_code == 201
            assert c.post("/api/user/create", json={"user_id": b}).status_code == 201
            # X-User-ID and the path disagree
            r = c.get(f"/api/user/{a}", headers={"X-User-ID": b})
            assert r.status_code == 403 and r.json()["error"] == "forbidden"
            # X-User-ID and the body disagree (onboarding, create)
            r = c.post("/api/onboarding", json={**ONBOARDING, "user_id": a}, headers={"X-User-ID": b})
            assert r.status_code == 403 and r.json()["detail"]["field"] == "user_id"
            r = c.post("/api/user/create", json={"user_id": str(uuid.uuid4())}, headers={"X-User-ID": b})
            assert r.status_code == 403
            # agreeing ids are fine; nothing of A's changed through B
            assert c.get(f"/api/user/{a}", headers={"X-User-ID": a}).status_code == 200
            assert c.get("/api/user/preferences", headers={"X-User-ID": a}).status_code == 404
            assert c.get("/api/user/me", headers={"X-User-ID": b}).json()["id"] == b
            # no identity at all
            assert c.get("/api/progress").status_code == 401
            assert c.post("/api/onboarding", json=ONBOARDING).status_code == 401
    finally:
        runtime.close()
