"""BOOKCTL_AUTH=jwt over real HTTP: a better-auth-style EdDSA learner goes onboarding -> personalized lesson ->
progress; forged tokens are 401 in the error shape; a JWKS that is down is a 503 (a cached key keeps working);
X-User-ID is never trusted alone and must match the token."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace

import httpx
import pytest

from bookctl.api.app import create_app
from bookctl.identity import learner_id
from tests.api.conftest import ONBOARDING, LiveServer, open_runtime
from tests.fakes.jwks_server import JWKSServer, SigningKey, b64
from tests.fakes.openai_server import FakeOpenAI, PersonalizeFake
from tests.personalization.conftest import make_generator

# a profile of its own: variants are shared per profile, and the session's database is shared with other tests
PROFILE = {**ONBOARDING, "education_level": "professional", "ai_ml_experience": "advanced", "preferred_language": "ur"}
ROUTE = "/docs/Physical-AI-Foundations/what-is-physical-ai/lesson-embodiment-hypothesis"
SLUG = "what-is-physical-ai/lesson-embodiment-hypothesis"


def error(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "message", "detail"} and body["message"]
    return body


@pytest.fixture
def stack(sqlite_env):
    """The IdP's JWKS on loopback, the fake LLM, and bookctl in jwt mode under uvicorn."""
    with JWKSServer() as idp, FakeOpenAI() as llm:
        llm.chat = PersonalizeFake()
        key = SigningKey.generate("EdDSA")
        idp.publish(key)
        settings = replace(sqlite_env.settings, auth="jwt", jwks_url=idp.url, jwt_issuer=idp.issuer,
                           jwt_audience=idp.issuer, jwks_refetch_interval=0.5, jwks_cache_seconds=1.0)
        runtime = open_runtime(replace(sqlite_env, settings=settings))
        try:
            with LiveServer(create_app(runtime, generator=make_generator(llm))) as server, \
                    httpx.Client(base_url=server.url, timeout=20) as http:
                yield idp, key, http
        finally:
            runtime.close()


def bearer(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def test_a_better_auth_learner_completes_the_journey(stack):
    idp, key, http = stack
    sub = "Zk3qB0aVx7mN2pRt"  # better-auth user ids are random strings, not UUIDs
    token = key.sign(idp.claims(sub, email="learner@example.com", name="A Learner"))
    me = http.get("/api/user/me", headers=bearer(token))
    assert me.status_code == 200, me.text  # created on first sight
    user_id = me.json()["id"]
    assert user_id == str(learner_id(idp.issuer, sub)) and me.json()["onboarding_completed"] is False
    # the site's calls with the minimal change: Authorization added, X-User-ID kept (matching)
    auth = bearer(token, **{"X-User-ID": user_id})
    assert http.get(f"/api/user/{user_id}", headers=auth).status_code == 200
    created = http.post("/api/user/create", json={"user_id": user_id}, headers=auth)
    assert created.status_code == 201 and created.json()["id"] == user_id and created.json()["token"] is None
    r = http.post("/api/onboarding", json={**PROFILE, "user_id": user_id}, headers=auth)
    assert r.status_code == 200, r.text
    r = http.post("/api/personalize", json={"lesson_slug": ROUTE + "/", "original_content": "ignored"}, headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["personalized_content"].strip()
    assert http.post(f"/api/progress/lessons/{SLUG}/start", headers=auth).json()["status"] == "in_progress"
    assert http.put(f"/api/progress/lessons/{SLUG}/time", json={"seconds": 90}, headers=auth).status_code == 200
    done = http.post(f"/api/progress/lessons/{SLUG}/complete", headers=auth)
    assert done.status_code == 200 and done.json()["status"] == "completed"
    summary = http.get("/api/progress", headers=auth).json()
    assert summary["user_id"] == user_id and summary["overall"]["completed"] == 1
    assert summary["overall"]["time_spent_seconds"] == 90
    # a refresh is the identity provider's business in jwt mode
    assert error(http.post("/api/user/token/refresh", headers=auth), 400)

    # another learner: their own (empty) data, and never the first one's
    other = key.sign(idp.claims("someone-else"))
    assert http.get("/api/progress", headers=bearer(other)).json()["overall"]["completed"] == 0
    assert error(http.get(f"/api/user/{user_id}", headers=bearer(other)), 403)["error"] == "forbidden"
    assert error(http.get("/api/progress", headers=bearer(other, **{"X-User-ID": user_id})), 403)
    assert error(http.post("/api/onboarding", json={**ONBOARDING, "user_id": user_id}, headers=bearer(other)), 403)
    # X-User-ID alone is never trusted in jwt mode
    for path in ("/api/progress", "/api/user/me", "/api/user/preferences"):
        assert error(http.get(path, headers={"X-User-ID": user_id}), 401)["error"] == "unauthorized"
    assert error(http.get(f"/api/user/{user_id}"), 401)


def test_forged_tokens_are_401_in_the_error_shape(stack):
    idp, key, http = stack
    good = idp.claims("forger-target")
    now = int(time.time())
    head, _, sig = key.sign(good).split(".")
    forged = [
        f"{b64({'alg': 'none', 'kid': key.kid})}.{b64(good)}.",
        f"{b64({'alg': 'HS256', 'kid': key.kid})}.{b64(good)}.{b64(b'x' * 32)}",
        key.sign({**good, "exp": now - 600, "iat": now - 1200}),
        key.sign({**good, "nbf": now + 600}),
        key.sign({**good, "iss": "https://evil.example"}),
        key.sign({**good, "aud": "https://evil.example"}),
        f"{head}.{b64({**good, 'sub': 'admin'})}.{sig}",
        SigningKey.generate("EdDSA", kid=key.kid).sign(good),
        SigningKey.generate("EdDSA", kid="not-published").sign(good),
        "garbage",
    ]
    for token in forged:
        body = error(http.get("/api/user/me", headers=bearer(token)), 401)
        assert body["error"] == "unauthorized" and body["detail"]["reason"]
    assert error(http.get("/api/user/me", headers={"Authorization": "Basic dXNlcjpwYXNz"}), 401)
    assert http.get("/api/user/me", headers=bearer(key.sign(good))).status_code == 200


def test_jwks_down_is_503_and_cached_keys_keep_working(stack):
    idp, key, http = stack
    token = key.sign(idp.claims("steady"))
    assert http.get("/api/user/me", headers=bearer(token)).status_code == 200
    idp.down = True
    time.sleep(1.1)  # past jwks_cache_seconds: the next verification tries to refetch, which fails
    assert http.get("/api/user/me", headers=bearer(token)).status_code == 200
    rotated = SigningKey.generate("EdDSA", kid="rotated-while-down").sign(idp.claims("steady"))
    time.sleep(0.6)  # past the refetch interval
    r = http.get("/api/user/me", headers=bearer(rotated))
    body = error(r, 503)
    assert body["error"] == "identity_provider_unavailable" and int(r.headers["retry-after"]) >= 1
    idp.down = False
    time.sleep(0.6)
    assert error(http.get("/api/user/me", headers=bearer(rotated)), 401)["detail"]["reason"] == "unknown_kid"
    new = SigningKey.generate("EdDSA", kid="rotated-back-up")
    idp.publish(new, key)
    time.sleep(0.6)
    assert http.get("/api/user/me", headers=bearer(new.sign(idp.claims("steady")))).status_code == 200


def test_jwt_mode_needs_its_settings():
    from bookctl.config import load_settings
    from bookctl.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        load_settings({"BOOKCTL_AUTH": "jwt", "BOOKCTL_JWKS_URL": "http://127.0.0.1:9/jwks"})
    assert "BOOKCTL_JWT_ISSUER" in err.value.message and "BOOKCTL_JWT_AUDIENCE" in err.value.message
    with pytest.raises(ConfigError):
        load_settings({"BOOKCTL_AUTH": "jwt", "BOOKCTL_JWKS_URL": "ftp://x", "BOOKCTL_JWT_ISSUER": "i",
                       "BOOKCTL_JWT_AUDIENCE": "a"})
    s = load_settings({"BOOKCTL_AUTH": "jwt", "BOOKCTL_JWKS_URL": "https://auth.example/api/auth/jwks",
                       "BOOKCTL_JWT_ISSUER": "https://auth.example", "BOOKCTL_JWT_AUDIENCE": "https://auth.example",
                       "BOOKCTL_SITE_BASE_URL": "https://x.github.io/ai-native-robotics/"})
    assert s.auth == "jwt" and s.site_base_url == "/ai-native-robotics"
    # the provider signs: jwt mode needs no BOOKCTL_SECRET_KEY, even on a shared database
    from bookctl.identity import Identity

    shared = replace(s, database_url="postgresql+psycopg://u@db.example/bookctl")
    identity = Identity.from_settings(shared)
    assert identity.signer is None and not identity.issues_tokens
    with pytest.raises(ConfigError):
        Identity.from_settings(replace(shared, auth="token"))
    assert uuid.UUID(str(learner_id("https://auth.example", "abc")))
