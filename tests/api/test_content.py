"""The content endpoint serves what a learner reads: the synced body without its front matter."""

from __future__ import annotations

LESSON = "what-is-physical-ai/lesson-embodiment-hypothesis"


def test_lesson_content_has_no_front_matter(client):
    body = client.get(f"/api/content/lessons/{LESSON}/content").json()

    assert not body["content"].startswith("---")
    assert "sidebar_position:" not in body["content"]
    assert body["content"].lstrip().startswith("# ")
    assert body["title"] == "The Embodiment Hypothesis"


def test_a_lesson_is_found_by_its_docusaurus_doc_id(client):
    for ref in ("01-Physical-AI-Foundations/01-what-is-physical-ai/02-lesson-embodiment-hypothesis",
                "Physical-AI-Foundations/what-is-physical-ai/lesson-embodiment-hypothesis",
                "docs/01-Physical-AI-Foundations/01-what-is-physical-ai/02-lesson-embodiment-hypothesis.md",
                LESSON, "/docs/Physical-AI-Foundations/what-is-physical-ai/lesson-embodiment-hypothesis/"):
        response = client.get(f"/api/content/lessons/{ref.lstrip('/')}" if not ref.startswith("/") else
                              f"/api/content/lessons{ref}")
        assert response.status_code == 200, (ref, response.text)
        assert response.json()["slug"] == LESSON
    assert client.get("/api/content/lessons/01-Physical-AI-Foundations/01-what-is-physical-ai/99-nope").status_code == 404
