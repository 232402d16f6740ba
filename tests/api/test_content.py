"""The content endpoint serves what a learner reads: the synced body without its front matter."""

from __future__ import annotations

LESSON = "what-is-physical-ai/lesson-embodiment-hypothesis"


def test_lesson_content_has_no_front_matter(client):
    body = client.get(f"/api/content/lessons/{LESSON}/content").json()

    assert not body["content"].startswith("---")
    assert "sidebar_position:" not in body["content"]
    assert body["content"].lstrip().startswith("# ")
    assert body["title"] == "The Embodiment Hypothesis"
