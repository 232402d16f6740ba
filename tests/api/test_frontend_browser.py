"""The site's calls from a real browser (headless Chromium via Playwright): a lesson page served under the site's
baseUrl runs the frontend's flow with `fetch` (so the browser itself sends Origin and the CORS preflights, and
enforces the answers), against bookctl in header mode over HTTP on loopback."""

from __future__ import annotations

import json
import os
import shutil
import threading
import uuid
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bookctl.api.app import create_app
from tests.api.conftest import ONBOARDING, LiveServer, open_runtime
from tests.fakes.openai_server import FakeOpenAI, PersonalizeFake
from tests.personalization.conftest import make_generator

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PAGE = "/ai-native-robotics/docs/Physical-AI-Foundations/what-is-physical-ai/lesson-embodiment-hypothesis/"

# The frontend's calls as its source builds them (base .../api; never an Authorization header).
SCRIPT = """
async function siteFlow(API, prefs) {
  const out = {};
  const userId = crypto.randomUUID();
  out.userId = userId;
  let r = await fetch(`${API}/user/${userId}`);                                   // 1
  out.firstLookup = r.status;
  if (r.status === 404) {
    r = await fetch(`${API}/user/create`, {method: "POST",                        // 2
      headers: {"Content-Type": "application/json"}, body: JSON.stringify({user_id: userId})});
    out.created = r.ok;
  }
  r = await fetch(`${API}/onboarding`, {method: "POST",                           // 3
    headers: {"Content-Type": "application/json"}, body: JSON.stringify({user_id: userId, ...prefs})});
  out.onboarding = r.ok ? "ok" : (await r.json()).message;
  r = await fetch(`${API}/user/${userId}`);
  out.onboardingCompleted = (await r.json()).onboarding_completed;
  r = await fetch(`${API}/user/preferences`, {headers: {"X-User-ID": userId}});    // 4
  out.preferences = await r.json();
  const personalize = () => fetch(`${API}/personalize`, {method: "POST",            // 5
    headers: {"Content-Type": "application/json", "X-User-ID": userId},
    body: JSON.stringify({lesson_slug: window.location.pathname, original_content: document.body.innerText})});
  r = await personalize();
  out.personalizeStatus = r.status;
  const first = await r.json();
  out.firstCached = first.cached;
  out.hasContent = typeof first.personalized_content === "string" && first.personalized_content.length > 0;
  out.secondCached = (await (await personalize()).json()).cached;
  r = await fetch(`${API}/user/preferences`, {method: "PUT",                      // 6
    headers: {"Content-Type": "application/json", "X-User-ID": userId},
    body: JSON.stringify({programming_experience: "advanced", robotics_background: true})});
  out.updated = await r.json();
  out.afterChangeCached = (await (await personalize()).json()).cached;
  r = await fetch(`${API}/personalize/cache`, {method: "DELETE", headers: {"X-User-ID": userId}});  // 7
  out.cleared = r.ok;
  out.afterClearCached = (await (await personalize()).json()).cached;
  return out;
}
"""


class PageServer:
    """The book's site stand-in: serves one lesson page (with the script above) at its baseUrl path."""

    def __init__(self) -> None:
        html = (f"<!doctype html><html><head><meta charset='utf-8'><script>{SCRIPT}</script></head>"
                "<body><article><h1>The Embodiment Hypothesis</h1><p>Intelligence needs a body.</p></article>"
                "</body></html>").encode()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(html)))
                self.end_headers()
                self.wfile.write(html)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def chromium():
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the browser test needs Chromium under CI=true (Debian: apt-get install chromium)")
        pytest.skip("Chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def test_the_site_in_a_real_browser_under_a_base_url(sqlite_env, chromium):
    site = PageServer()
    profile = {**ONBOARDING, "education_level": "graduate", "ai_ml_experience": "none", "learning_goals": ["research"]}
    settings = replace(sqlite_env.settings, auth="header", site_base_url="/ai-native-robotics/",
                       cors_origins=(site.origin,))
    runtime = open_runtime(replace(sqlite_env, settings=settings))
    try:
        with FakeOpenAI() as llm:
            llm.chat = PersonalizeFake()
            with LiveServer(create_app(runtime, generator=make_generator(llm))) as api:
                page = chromium.new_page()
                failed: list[str] = []
                page.on("requestfailed", lambda request: failed.append(request.url))  # e.g. refused by CORS
                page.goto(site.origin + PAGE)
                out = page.evaluate(f"siteFlow({json.dumps(api.url + '/api')}, {json.dumps(profile)})")
    finally:
        runtime.close()
        site.close()
    assert not failed, failed
    assert uuid.UUID(out["userId"])
    assert out["firstLookup"] == 404 and out["created"] is True
    assert out["onboarding"] == "ok" and out["onboardingCompleted"] is True
    assert {k: out["preferences"][k] for k in profile} == profile
    assert out["personalizeStatus"] == 200 and out["hasContent"]
    assert out["firstCached"] is False and out["secondCached"] is True
    assert out["updated"]["programming_experience"] == "advanced" and isinstance(out["updated"]["learning_goals"], list)
    assert out["afterChangeCached"] is False
    assert out["cleared"] is True and out["afterClearCached"] is False
