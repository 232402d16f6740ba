"""Auth, isolation between users, and bad input: always a 4xx in the {error, message, detail} shape."""

from __future__ import annotations

import time
import uuid

import pytest

from bookctl.api.auth import TokenSigner
from tests.api.conftest import ONBOARDING, SECRET, new_user

LESSON = "what-is-physical-ai/lesson-embodiment-hypothesis"


def assert_error(r, status: int, kind: str | None = None) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "message", "detail"} and body["message"]
    if kind:
        assert body["error"] == kind
    return body


USER_SCOPED = [
    ("get", "/api/user/preferences", None), ("put", "/api/user/preferences", {"preferred_language": "ur"}),
    ("post", "/api/onboarding", ONBOARDING), ("get", "/api/progress", None),
    ("get", "/api/progress/recommendations", None), ("get", f"/api/progress/lessons/{LESSON}", None),
    ("post", f"/api/progress/lessons/{LESSON}/start", None), ("post", f"/api/progress/lessons/{LESSON}/complete", None),
    ("put", f"/api/progress/lessons/{LESSON}/time", {"seconds": 5}),
]


@pytest.mark.parametrize("method,path,body", USER_SCOPED)
def test_user_scoped_endpoints_need_a_valid_token(client, method, path, body):
    kwargs = {"json": body} if body is not None else {}
    assert_error(getattr(client, method)(path, **kwargs), 401, "unauthorized")
    forged = TokenSigner(b"not-the-key-" * 4, 3600).issue(uuid.uuid4())[0]
    for header in (f"Bearer {forged}", "Bearer garbage", "Bearer a.b.c", "Basic dXNlcjpwYXNz", "Bearer "):
        assert_error(getattr(client, method)(path, headers={"Authorization": header}, **kwargs), 401)


@pytest.mark.parametrize("method,path,body", USER_SCOPED)
def test_a_valid_token_for_a_user_that_does_not_exist_is_404(client, method, path, body):
    # Signed with the app's key (so it passes auth), for an id no POST /api/user/create made.
    ghost = TokenSigner(SECRET.encode(), 3600).issue(uuid.uuid4())[0]
    kwargs = {"json": body} if body is not None else {}
    err = assert_error(getattr(client, method)(path, headers={"Authorization": f"Bearer {ghost}"}, **kwargs), 404)
    assert "not found" in err["message"]


def test_expired_and_tampered_tokens_are_rejected(client):
    user_id, headers = new_user(client)
    signer = TokenSigner(SECRET.encode(), 3600)
    expired, _ = signer.issue(uuid.UUID(user_id), now=time.time() - 7200)
    body = assert_error(client.get(f"/api/user/{user_id}", headers={"Authorization": f"Bearer {expired}"}), 401)
    assert "expired" in body["message"]
    valid = headers["Authorization"].removeprefix("Bearer ")
    head, payload, sig = valid.split(".")
    other = signer.issue(uuid.uuid4())[0].split(".")[1]
    assert_error(client.get(f"/api/user/{user_id}", headers={"Authorization": f"Bearer {head}.{other}.{sig}"}), 401)
    # a token of this user that does not carry its creation time (`uct`) is not bound to it: refused
    unbound = signer.issue(uuid.UUID(user_id))[0]
    assert_error(client.get(f"/api/user/{user_id}", headers={"Authorization": f"Bearer {unbound}"}), 401)
    assert client.get(f"/api/user/{user_id}", headers={"Authorization": f"Bearer {valid}"}).status_code == 200


def test_one_user_cannot_read_or_change_another_users_data(client):
    a_id, a = new_user(client)
    b_id, b = new_user(client)
    assert client.post("/api/onboarding", json=ONBOARDING, headers=a).status_code == 200
    assert client.post(f"/api/progress/lessons/{LESSON}/complete", headers=a).status_code == 200

    assert_error(client.get(f"/api/user/{a_id}", headers=b), 403, "forbidden")
    # B's token with A's id in X-User-ID (the contract's header) is refused, for reads and writes
    spoof = {**b, "X-User-ID": a_id}
    for method, path, body in USER_SCOPED:
        kwargs = {"json": body} if body is not None else {}
        assert_error(getattr(client, method)(path, headers=spoof, **kwargs), 403, "forbidden")
    # onboarding naming another user in the body
    assert_error(client.post("/api/onboarding", json={**ONBOARDING, "user_id": a_id}, headers=b), 403)
    # B sees only B's (empty) data
    assert_error(client.get("/api/user/preferences", headers=b), 404)
    assert client.get("/api/progress", headers=b).json()["overall"]["completed"] == 0
    assert client.get(f"/api/progress/lessons/{LESSON}", headers=b).json()["status"] == "not_started"
    # A's data is untouched
    assert client.get("/api/progress", headers=a).json()["overall"]["completed"] == 1
    assert client.get("/api/user/preferences", headers=a).json()["preferred_language"] == "en"


def test_create_user_conflict_and_ids(client):
    uid = str(uuid.uuid4())
    assert client.post("/api/user/create", json={"user_id": uid}).status_code == 201
    assert_error(client.post("/api/user/create", json={"user_id": uid}), 409, "conflict")
    assert client.post("/api/user/create").status_code == 201  # no body: server-generated id
    body = assert_error(client.post("/api/user/create", json={"user_id": "not-a-uuid"}), 400, "validation_error")
    assert body["detail"]["errors"][0]["field"] == "user_id"


def test_header_mode_trusts_x_user_id(sqlite_env, caplog):
    from dataclasses import replace

    from litestar.testing import TestClient

    from bookctl.api.app import create_app
    from bookctl.runtime import Runtime

    runtime = Runtime.open(replace(sqlite_env.settings, auth="header"))
    try:
        with caplog.at_level("WARNING"):
            app = create_app(runtime)
        assert "TRUSTED WITHOUT A TOKEN" in caplog.text
        assert SECRET not in caplog.text
        with TestClient(app) as c:
            uid = c.post("/api/user/create", json={}).json()["id"]
            r = c.post("/api/onboarding", json=ONBOARDING, headers={"X-User-ID": uid})
            assert r.status_code == 200, r.text
            assert c.get("/api/user/preferences", headers={"X-User-ID": uid}).status_code == 200
            assert_error(c.get("/api/progress"), 401)
            assert_error(c.get("/api/progress", headers={"X-User-ID": "nope"}), 400)
    finally:
        runtime.close()


def test_oversized_bodies_are_413(client):
    _, auth = new_user(client)
    big = {**ONBOARDING, "padding": "x" * 100_000}
    assert_error(client.post("/api/onboarding", json=big, headers=auth), 413, "payload_too_large")
    assert_error(client.post("/api/user/create", content=b"{" + b" " * 70_000 + b"}",
                             headers={"Content-Type": "application/json"}), 413)


BAD_ONBOARDING = [
    ({"education_level": "phd"}, "education_level"),
    ({"programming_experience": "expert"}, "programming_experience"),
    ({"robotics_background": "yes"}, "robotics_background"),
    ({"ai_ml_experience": 3}, "ai_ml_experience"),
    ({"learning_goals": []}, "learning_goals"),
    ({"learning_goals": ["world_domination"]}, "learning_goals"),
    ({"learning_goals": "hobby"}, "learning_goals"),
    ({"preferred_language": "fr"}, "preferred_language"),
    ({"user_id": "123"}, "user_id"),
]


@pytest.mark.parametrize("change,field", BAD_ONBOARDING)
def test_invalid_onboarding_names_the_field_and_allowed_values(client, change, field):
    _, auth = new_user(client)
    body = assert_error(client.post("/api/onboarding", json={**ONBOARDING, **change}, headers=auth), 400)
    fields = [e["field"] for e in body["detail"]["errors"]]
    assert field in fields and field in body["message"]
    entry = body["detail"]["errors"][fields.index(field)]
    if field in ("education_level", "programming_experience", "ai_ml_experience", "preferred_language") \
            and isinstance(change[field], str):
        assert entry["allowed"] and ", ".join(entry["allowed"]) in body["message"]


@pytest.mark.parametrize("missing", ["education_level", "programming_experience", "robotics_background",
                                     "ai_ml_experience", "learning_goals"])
def test_onboarding_requires_each_question(client, missing):
    _, auth = new_user(client)
    data = {k: v for k, v in ONBOARDING.items() if k != missing}
    body = assert_error(client.post("/api/onboarding", json=data, headers=auth), 400)
    assert missing in body["message"]


def test_preferences_partial_update_validation(client):
    _, auth = new_user(client)
    assert_error(client.put("/api/user/preferences", json={"preferred_language": "ur"}, headers=auth), 404)
    client.post("/api/onboarding", json=ONBOARDING, headers=auth)
    assert_error(client.put("/api/user/preferences", json={"preferred_language": "de"}, headers=auth), 400)
    assert_error(client.put("/api/user/preferences", json={"learning_goals": []}, headers=auth), 400)
    r = client.put("/api/user/preferences", json={"learning_goals": ["research", "hobby"]}, headers=auth)
    assert r.status_code == 200 and r.json()["learning_goals"] == ["research", "hobby"]
    assert r.json()["programming_experience"] == "intermediate"


@pytest.mark.parametrize("raw", [b"{", b"[]", b"null", b"\xff\xfe", b'{"seconds": "ten"}', b'{"seconds": 0}',
                                 b'{"seconds": -5}', b'{"seconds": 3601}', b'{"seconds": 1e400}',
                                 b'{"seconds": 99999999999999999999999999999}', b'{"seconds": 1.5}',
                                 b'{"seconds": true}', b'{}'])
def test_time_rejects_bad_deltas(client, raw):
    _, auth = new_user(client)
    r = client.put(f"/api/progress/lessons/{LESSON}/time", content=raw,
                   headers={**auth, "Content-Type": "application/json"})
    assert_error(r, 400)
    assert client.get(f"/api/progress/lessons/{LESSON}", headers=auth).json()["time_spent_seconds"] == 0


def test_bad_paths_and_queries_are_4xx(client):
    _, auth = new_user(client)
    assert_error(client.get("/api/user/not-a-uuid", headers=auth), 404)
    assert_error(client.get("/api/content/parts/999999999999999999999999"), 404)
    assert_error(client.get("/api/content/parts/abc"), 404)
    assert_error(client.get("/api/content/chapters/0"), 404)
    assert_error(client.get("/api/progress/recommendations?limit=0", headers=auth), 400)
    assert_error(client.get("/api/progress/recommendations?limit=abc", headers=auth), 400)
    assert_error(client.get("/api/progress/recommendations?limit=" + "9" * 40, headers=auth), 400)
    assert_error(client.post(f"/api/progress/lessons/{LESSON}/finish", headers=auth), 404)
    assert_error(client.post("/api/progress/lessons/no-such-lesson/start", headers=auth), 404)
    assert_error(client.get("/api/nope"), 404)
    assert_error(client.delete("/api/progress", headers=auth), 405)


def test_unknown_and_planned_lessons_have_distinct_404s(client):
    unknown = assert_error(client.get("/api/content/lessons/no/such-lesson/content"), 404)
    planned = assert_error(client.get("/api/content/lessons/ros2-architecture/nodes-topics-services-and-actions"
                                      "/content"), 404)
    assert "no lesson" in unknown["message"]
    assert "planned" in planned["message"] and "no content yet" in planned["message"]
    assert planned["detail"]["status"] == "planned"
    _, auth = new_user(client)
    r = client.post("/api/progress/lessons/ros2-architecture/nodes-topics-services-and-actions/start", headers=auth)
    assert "planned" in assert_error(r, 404)["message"]
