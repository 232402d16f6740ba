"""The review page in jwt mode over real HTTP, against a real JWKS endpoint on loopback: an identity-provider JWT
is an editor credential only with the editor claim (BOOKCTL_EDITOR_CLAIM); a learner's JWT is refused on the pages
and on every action; CSRF is still required; a JWT sign-in ends when the JWT expires."""

from __future__ import annotations

import re
import time
from dataclasses import replace

import httpx
import pytest

from bookctl.api.app import create_app
from bookctl.api.review import ReviewAccess
from bookctl.errors import ConfigError
from bookctl.identity.editors import EditorClaim
from bookctl.runtime import Runtime
from tests.fakes.jwks_server import JWKSServer, SigningKey
from tests.live import LiveServer
from tests.personalization.conftest import BEGINNER, LESSON


@pytest.fixture
def review(sqlite_env):
    """(env, idp, key, base URL): `bookctl review` as on a public host (no editor tokens) in jwt mode."""
    env = sqlite_env
    env.service.personalize(env.user(BEGINNER), LESSON)
    with JWKSServer() as idp:
        key = SigningKey.generate("EdDSA")
        idp.publish(key)
        settings = replace(env.runtime.settings, auth="jwt", jwks_url=idp.url, jwt_issuer=idp.issuer,
                           jwt_audience=idp.issuer, secret_key="r" * 40)
        access = ReviewAccess.from_settings("0.0.0.0", settings)
        assert access.loopback is False and access.editors == () and access.jwt is not None
        runtime = Runtime.open(settings)
        try:
            with LiveServer(create_app(runtime, personalization=env.service, review=access,
                                       learner_api=False)) as server:
                yield env, idp, key, server.url
        finally:
            runtime.close()


def _client(url: str) -> httpx.Client:
    """An httpx client that sends the page's cookies, which are `Secure` off loopback, over this test's plain
    HTTP (a browser behind TLS would; httpx's jar sends Secure cookies only to https URLs)."""
    jar = httpx.Cookies()

    def keep(response: httpx.Response) -> None:
        jar.extract_cookies(response)

    def send(request: httpx.Request) -> None:
        if jar.jar:
            request.headers["Cookie"] = "; ".join(f"{c.name}={c.value}" for c in jar.jar)

    return httpx.Client(base_url=url, timeout=30, event_hooks={"request": [send], "response": [keep]})


def _csrf(client: httpx.Client) -> str:
    page = client.get("/review/login")
    assert page.status_code == 200
    return re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_without_editor_tokens_only_jwt_mode_may_leave_loopback(sqlite_env):
    with pytest.raises(ConfigError, match="BOOKCTL_EDITOR_CLAIM"):
        ReviewAccess.from_settings("0.0.0.0", sqlite_env.runtime.settings)  # token mode, no editor tokens


def test_a_learner_jwt_is_refused_on_pages_and_actions(review):
    env, idp, key, url = review
    learner = key.sign(idp.claims("learner-1", name="A Learner", roles=["learner"]))
    variant = env.variants()[0]
    with _client(url) as client:
        assert client.get("/review/").status_code == 303  # anonymous: to the sign-in page
        page = client.get("/review/", headers=_bearer(learner))
        assert page.status_code == 403 and page.json()["detail"]["reason"] == "not_editor"
        assert client.get(f"/review/lessons/{variant.lesson_id}", headers=_bearer(learner)).status_code == 403

        csrf = _csrf(client)
        for action, data in (("approve", {}), ("reject", {"note": "no"}), ("regenerate", {})):
            refused = client.post(f"/review/variants/{variant.id}/{action}", headers=_bearer(learner),
                                  data={"_csrf_token": csrf, **data})
            assert refused.status_code == 403 and refused.json()["detail"]["reason"] == "not_editor", action
        signed = client.post("/review/login", data={"token": learner, "_csrf_token": csrf})
        assert signed.status_code == 403 and "lacks the claim roles=editor" in signed.text
        assert client.get("/review/").status_code == 303  # no session came of it
    assert env.variants()[0].review_status == "unreviewed" and env.variants()[0].reviewed_by is None


def test_an_editor_jwt_signs_in_and_acts_with_csrf(review):
    env, idp, key, url = review
    editor = key.sign(idp.claims("ed-7", name="Ana Editor", email="ana@example.com", roles=["learner", "editor"]))
    forged = SigningKey.generate("EdDSA", kid=key.kid).sign(idp.claims("ed-7", name="Ana Editor", roles=["editor"]))
    variant = env.variants()[0]
    with _client(url) as client:
        csrf = _csrf(client)
        bad = client.post("/review/login", data={"token": forged, "_csrf_token": csrf})
        assert bad.status_code == 401 and "bad signature" in bad.text
        assert client.post("/review/login", data={"token": editor}).status_code == 403  # CSRF still required
        done = client.post("/review/login", data={"token": editor, "_csrf_token": csrf})
        assert done.status_code == 303, done.text
        listing = client.get("/review/")
        assert listing.status_code == 200 and "ana@example.com" in listing.text
        assert client.post(f"/review/variants/{variant.id}/approve", data={}).status_code == 403  # no CSRF token
        approved = client.post(f"/review/variants/{variant.id}/approve", data={"_csrf_token": csrf})
        assert approved.status_code == 303
    stored = env.variants()[0]
    assert stored.review_status == "approved" and stored.reviewed_by == "ana@example.com"

    # a script: the JWT on each request, no session, and still the CSRF pair
    with _client(url) as script:
        csrf = _csrf(script)
        assert script.get("/review/", headers=_bearer(editor)).status_code == 200
        rejected = script.post(f"/review/variants/{variant.id}/reject", headers=_bearer(editor),
                               data={"_csrf_token": csrf, "note": "Too many idioms."})
        assert rejected.status_code == 303
        no_csrf = script.post(f"/review/variants/{variant.id}/approve", headers=_bearer(editor), data={})
        assert no_csrf.status_code == 403
    assert env.variants()[0].review_status == "rejected" and env.variants()[0].review_note == "Too many idioms."


def test_a_jwt_sign_in_ends_when_the_jwt_expires(review):
    env, idp, key, url = review
    now = int(time.time())
    lasting = key.sign({**idp.claims("ed-8", roles="editor"), "iat": now, "exp": now + 600})
    # expired 5 s ago: still verifies (within the 30 s clock-skew leeway), but the sign-in ends at its `exp`
    ended = key.sign({**idp.claims("ed-8", roles="editor"), "iat": now - 600, "exp": now - 5})
    variant = env.variants()[0]
    with _client(url) as client:
        csrf = _csrf(client)
        assert client.post("/review/login", data={"token": lasting, "_csrf_token": csrf}).status_code == 303
        assert client.get("/review/").status_code == 200
        assert client.post("/review/login", data={"token": ended, "_csrf_token": csrf}).status_code == 303
        assert client.get("/review/").status_code == 303  # signed out: the provider's credential has expired
        refused = client.post(f"/review/variants/{variant.id}/approve", data={"_csrf_token": csrf})
        assert refused.status_code == 401
    assert env.variants()[0].review_status == "unreviewed"


@pytest.mark.parametrize(("spec", "claims", "granted"), [
    ("roles=editor", {"roles": ["editor"]}, True),
    ("roles=editor", {"roles": ["learner"]}, False),
    ("roles=editor", {"roles": "learner editor"}, True),   # a space-separated string (OAuth scope style)
    ("role=editor", {"role": "admin,editor"}, True),       # better-auth's admin plugin: comma-separated roles
    ("role=editor", {"role": "editors"}, False),           # whole words only
    ("roles=editor", {}, False),
    ("roles=editor", {"roles": {"editor": True}}, False),
    ("realm_access.roles=editor", {"realm_access": {"roles": ["editor"]}}, True),  # Keycloak: a nested claim
    ("realm_access.roles=editor", {"realm_access": ["editor"]}, False),
])
def test_editor_claim_rules(spec, claims, granted):
    assert EditorClaim.parse(spec).grants(claims) is granted


def test_a_custom_editor_claim_from_settings():
    from bookctl.config import load_settings

    with pytest.raises(ConfigError, match="BOOKCTL_EDITOR_CLAIM"):
        load_settings({"BOOKCTL_EDITOR_CLAIM": "editor"})
    assert load_settings({}).editor_claim == "roles=editor"
    assert load_settings({"BOOKCTL_EDITOR_CLAIM": "realm_access.roles=reviewer"}).editor_claim == \
        "realm_access.roles=reviewer"
