"""A real browser (Playwright driving Debian's Chromium, headless) through the review page: sign in, pick a lesson
and a profile, read side by side and the word diff, reject with a note, regenerate, approve.

Screenshots of the list and a lesson page are kept in test-artifacts/review/ (BOOKCTL_TEST_ARTIFACTS overrides).
Outside CI the test skips when Chromium or Playwright is missing; under CI=true it fails instead (.ci/run installs
Chromium from Debian's packages).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bookctl.api.app import create_app
from bookctl.api.review import ReviewAccess
from tests.live import LiveServer
from tests.personalization.conftest import ADVANCED, BEGINNER, LESSON

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("BOOKCTL_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")) / "review"
# Chromium's own background traffic (component updates, safe browsing, ...) has no network here
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def _browser_or_skip():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    missing = "playwright (pip)" if sync_playwright is None else ("chromium (apt-get install chromium)"
                                                                  if CHROMIUM is None else None)
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser test needs {missing}; .ci/run installs it")
        pytest.skip(f"needs {missing}")
    return sync_playwright


def test_editor_reviews_a_variant_in_a_real_browser(sqlite_env):
    sync_playwright = _browser_or_skip()
    env = sqlite_env
    env.service.personalize(env.user(BEGINNER), LESSON)
    env.service.personalize(env.user(ADVANCED), LESSON)
    rows = env.variants()
    assert len(rows) == 2
    access = ReviewAccess.for_bind("127.0.0.1", ())  # the one-time token `bookctl review` prints
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    note = "Compare the robot to a child learning to walk."
    with LiveServer(create_app(env.runtime, personalization=env.service, review=access, learner_api=False)) as server, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(20_000)
            page.goto(f"{server.url}/review/login?token={access.editors[0][1]}")
            assert page.url.endswith("/review/")
            assert "signed in as" in page.text_content("header")
            page.screenshot(path=str(ARTIFACTS / "list.png"), full_page=True)

            page.click(f"text={_title(env, rows[0])}")
            page.wait_for_selector("#original")
            assert page.is_visible("#variant-text")
            options = page.locator("#variant option")
            assert options.count() == 2
            first_text = page.text_content("#variant-text")
            # pick the other profile: the script submits the picker on change
            other = options.nth(1).get_attribute("value")
            with page.expect_navigation():
                page.select_option("#variant", other)
            assert f"variant={other}" in page.url
            assert page.text_content("#variant-text") != first_text
            page.screenshot(path=str(ARTIFACTS / "lesson.png"), full_page=True)

            page.click("#diff-link")
            page.wait_for_selector("#diff")
            assert page.locator("#diff ins").count() > 0

            page.click("text=Side by side")
            calls = env.chat_calls()
            page.fill("#note", note)
            page.click("#reject")
            page.wait_for_selector("#status")
            assert page.text_content("#status") == "rejected"
            assert note in page.text_content(".review-note")

            page.click("#regenerate")
            page.wait_for_selector("#status")
            assert page.text_content("#status") == "unreviewed"
            assert note in page.text_content(".correction")
            assert env.chat_calls() > calls

            page.click("#approve")
            page.wait_for_selector("#status")
            assert page.text_content("#status") == "approved"
            page.screenshot(path=str(ARTIFACTS / "approved.png"), full_page=True)
        finally:
            browser.close()
    statuses = sorted(r.review_status for r in env.variants())
    assert statuses == ["approved", "unreviewed"]
    assert (ARTIFACTS / "list.png").stat().st_size > 0 and (ARTIFACTS / "lesson.png").stat().st_size > 0


def _title(env, row) -> str:
    from bookctl.db import models as m

    with env.runtime.session() as session:
        return session.get(m.Lesson, row.lesson_id).title
