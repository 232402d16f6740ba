"""The review page over real HTTP: access rules, CSRF, escaping of untrusted variant text, and the actions."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from sqlalchemy import update

from bookctl.api.app import create_app
from bookctl.api.review import ReviewAccess
from bookctl.db import models as m
from bookctl.errors import ConfigError
from tests.live import LiveServer
from tests.personalization.conftest import BEGINNER, LESSON

TOKEN = "ana-secret-token-0123456789"
HOSTILE = ("# Title\n\n<script>alert('xss')</script>\n\n<img src=x onerror=alert(2)>\n\n"
           "[click me](javascript:alert(3))\n\nSome prose.\n")


def _serve(env, *, loopback: bool = True):
    access = ReviewAccess(editors=(("ana", TOKEN),), loopback=loopback)
    return LiveServer(create_app(env.runtime, personalization=env.service, review=access, learner_api=False))


def _variant(env) -> m.PersonalizedContent:
    user = env.user(BEGINNER)
    env.service.personalize(user, LESSON)
    return env.variants()[0]


def _csrf(client: httpx.Client, url: str) -> str:
    page = client.get(url + "/review/login")
    return re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)


def _signed_in(url: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=url, timeout=30, follow_redirects=False)
    token = _csrf(client, url)
    done = client.post("/review/login", data={"token": TOKEN, "_csrf_token": token})
    assert done.status_code == 303, done.text
    return client, token


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::", "example.org"])
def test_a_non_loopback_bind_without_editor_tokens_is_refused(host):
    with pytest.raises(ConfigError, match="BOOKCTL_EDITOR_TOKENS"):
        ReviewAccess.for_bind(host, ())
    assert ReviewAccess.for_bind(host, (("ana", TOKEN),)).loopback is False


def test_loopback_without_tokens_makes_a_one_time_token():
    access = ReviewAccess.for_bind("127.0.0.1", ())
    assert access.generated and access.loopback and len(access.editors[0][1]) >= 24
    assert access.editor_for(access.editors[0][1]) == "editor"
    assert access.editor_for("wrong") is None and access.editor_for("") is None


def test_cli_refuses_a_public_bind_without_credentials(workspace):
    result = workspace.run("review", "--host", "0.0.0.0")
    assert result.code == 2 and "BOOKCTL_EDITOR_TOKENS" in result.stderr and "Traceback" not in result.stderr


def test_pages_render_and_variant_html_is_inert(sqlite_env):
    env = sqlite_env
    row = _variant(env)
    with env.runtime.session() as session:
        session.execute(update(m.PersonalizedContent).where(m.PersonalizedContent.id == row.id)
                        .values(personalized_content=HOSTILE))
    with _serve(env) as server:
        listing = httpx.get(server.url + "/review/", timeout=30)
        assert listing.status_code == 200
        assert "default-src 'none'" in listing.headers["content-security-policy"]
        assert "script-src 'self'" in listing.headers["content-security-policy"]
        assert row.lesson_slug in listing.text and "1 unreviewed" in listing.text.replace("<strong>", "").replace("</strong>", "")
        for view in ("side", "diff"):
            page = httpx.get(f"{server.url}/review/lessons/{row.lesson_id}?variant={row.id}&view={view}", timeout=30)
            assert page.status_code == 200
            body = page.text
            assert "<script>alert" not in body and "<img" not in body and 'href="javascript:' not in body
            assert "&lt;script&gt;" in body and "&lt;img" in body and "onerror=alert(2)&gt;" in body
            # the only scripts are the page's own file
            assert re.findall(r"<script[^>]*>", body) == ['<script src="/review/static/review.js" defer>']
        assert "word diff" in body.lower() and "<del>" in body or "<ins>" in body


def test_actions_need_an_editor_and_a_csrf_token(sqlite_env):
    env = sqlite_env
    row = _variant(env)
    with _serve(env) as server:
        anonymous = httpx.Client(base_url=server.url, timeout=30)
        token = _csrf(anonymous, server.url)
        refused = anonymous.post(f"/review/variants/{row.id}/approve", data={"_csrf_token": token})
        assert refused.status_code == 401 and refused.json()["error"]

        client, token = _signed_in(server.url)
        no_csrf = client.post(f"/review/variants/{row.id}/approve", data={})
        assert no_csrf.status_code == 403
        forged = client.post(f"/review/variants/{row.id}/approve", data={"_csrf_token": "0" * 96})
        assert forged.status_code == 403
        assert env.variants()[0].review_status == "unreviewed"

        done = client.post(f"/review/variants/{row.id}/approve", data={"_csrf_token": token})
        assert done.status_code == 303 and str(row.lesson_id) in done.headers["location"]
        stored = env.variants()[0]
        assert stored.review_status == "approved" and stored.reviewed_by == "ana"
        assert "approved" in client.get(done.headers["location"]).text


def test_wrong_login_is_refused(sqlite_env):
    with _serve(sqlite_env) as server:
        client = httpx.Client(base_url=server.url, timeout=30)
        token = _csrf(client, server.url)
        bad = client.post("/review/login", data={"token": "not-the-token-at-all", "_csrf_token": token})
        assert bad.status_code == 401 and "not an editor token" in bad.text
        assert "bookctl_review=" not in bad.headers.get("set-cookie", "") or "null" in bad.headers.get("set-cookie", "")


def test_reject_then_regenerate_from_the_page(sqlite_env):
    env = sqlite_env
    row = _variant(env)
    note = "Explain embodiment with a toddler learning to walk."
    with _serve(env) as server:
        client, token = _signed_in(server.url)
        assert client.post(f"/review/variants/{row.id}/reject", data={"_csrf_token": token, "note": note}).status_code == 303
        assert env.variants()[0].review_status == "rejected"
        empty = client.post(f"/review/variants/{row.id}/reject", data={"_csrf_token": token, "note": " "})
        assert empty.status_code == 303  # refused with a message on the page, state unchanged
        page = client.get(empty.headers["location"]).text
        assert "needs a note" in page
        before = env.chat_calls()
        again = client.post(f"/review/variants/{row.id}/regenerate", data={"_csrf_token": token})
        assert again.status_code == 303
        assert env.chat_calls() > before
        assert all(note in str(c.body) for c in env.llm.calls_to("/v1/chat/completions")[before:])
        stored = env.variants()[0]
        assert stored.review_status == "unreviewed" and stored.correction == note
        assert note in client.get(again.headers["location"]).text  # "generated with the editor's correction"


def test_non_loopback_pages_need_a_sign_in(sqlite_env):
    env = sqlite_env
    row = _variant(env)
    with _serve(env, loopback=False) as server:
        anonymous = httpx.get(server.url + "/review/", timeout=30)
        assert anonymous.status_code == 303 and anonymous.headers["location"] == "/review/login"
        page = httpx.get(f"{server.url}/review/lessons/{row.lesson_id}", timeout=30)
        assert page.status_code == 303


def test_unknown_lesson_is_a_404_in_the_error_shape(sqlite_env):
    with _serve(sqlite_env) as server:
        missing = httpx.get(f"{server.url}/review/lessons/{uuid.uuid4()}", timeout=30)
        assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_metrics_show_the_review_backlog(env):
    """/metrics reads the backlog from the database when scraped (both dialects: one aggregate query)."""
    from bookctl.personalization.prompts import PROMPT_VERSION
    from bookctl.review import service
    from tests.personalization.conftest import ADVANCED, URDU

    def backlog(url: str) -> dict[str, float]:
        text = httpx.get(url + "/metrics", timeout=30).text
        found = re.findall(r'^bookctl_review_backlog\{state="(\w+)"\} ([0-9.e+]+)$', text, re.MULTILINE)
        assert "# TYPE bookctl_review_backlog gauge" in text
        return {state: float(n) for state, n in found}

    from dataclasses import replace

    from bookctl.runtime import Runtime

    runtime = Runtime.open(replace(env.runtime.settings, secret_key="s" * 40))  # a shared database needs the key
    try:
        access = ReviewAccess(editors=(("ana", TOKEN),), loopback=True)
        with LiveServer(create_app(runtime, personalization=env.service, review=access, learner_api=False)) as server:
            assert backlog(server.url) == {"unreviewed": 0, "rejected": 0, "approved": 0, "stale": 0}
            for prefs in (BEGINNER, ADVANCED, URDU):
                env.service.personalize(env.user(prefs), LESSON)
            first, second, third = env.variants()
            with env.runtime.session() as session:
                service.approve(session, first.id, "ana", first.created_at, PROMPT_VERSION)
                service.reject(session, second.id, "ana", "too chatty", first.created_at, PROMPT_VERSION)
                session.execute(update(m.PersonalizedContent).where(m.PersonalizedContent.id == third.id)
                                .values(content_hash="0" * 64))  # made from an older lesson body: stale
            assert backlog(server.url) == {"unreviewed": 0, "rejected": 1, "approved": 1, "stale": 1}
    finally:
        runtime.close()
