"""A Docusaurus book without curriculum.md, synced and served: unlisted pages are reachable but never
recommended, free-text prerequisites are the recommender's reason, routes are the real URLs."""

from __future__ import annotations

import shutil

from bookctl.content.service import ContentService
from bookctl.learners.recommendations import plan
from tests.api.conftest import _build_env, open_runtime
from tests.realbooks import real_book_sites

BOOK = "alihaidernoorani__Physical-AI-Humanoid-Robotics-Book"


def test_unlisted_and_free_text_prerequisites(tmp_path_factory) -> None:
    src = tmp_path_factory.mktemp("tree-src") / "site"
    shutil.copytree(real_book_sites()[BOOK], src)
    (src / "docs" / "vla" / "05-bonus.md").write_text("---\ntitle: Bonus\nunlisted: true\n---\n\n# Bonus\n\nExtra reading.\n")
    env = _build_env(tmp_path_factory.mktemp("tree-env"), src, None, augment=False)
    runtime = open_runtime(env)
    try:
        snap = ContentService(runtime).snapshot()
        bonus = snap.by_route["/docs/vla/bonus"]  # reachable at its real URL
        assert bonus.unlisted and bonus.lesson.slug == "vla/bonus"
        whisper = snap.by_slug["vla/voice-to-text-whisper"]
        assert "Basic understanding of digital signal processing" in whisper.prerequisite_notes
        recs = plan(snap, {}, goals=[], beginner=False, limit=100)
        slugs = [r.slug for r in recs]
        assert "vla/bonus" not in slugs and "vla/voice-to-text-whisper" in slugs
        reason = next(r.reason for r in recs if r.slug == "vla/voice-to-text-whisper")
        assert "It assumes: " in reason and "digital signal processing" in reason
    finally:
        runtime.close()
