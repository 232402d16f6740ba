"""A server started without any LLM configured still serves everything else, and says why it cannot personalize."""

from __future__ import annotations

from tests.api.conftest import ONBOARDING, new_user


def test_personalize_without_llm_configuration_is_a_clear_503(client):
    user_id, headers = new_user(client)
    assert client.post("/api/onboarding", json={"user_id": user_id, **ONBOARDING}, headers=headers).status_code == 200

    response = client.post("/api/personalize", headers=headers,
                           json={"lesson_slug": "what-is-physical-ai/lesson-embodiment-hypothesis"})

    assert response.status_code == 503
    body = response.json()
    assert body["error"] == "not_configured"
    assert "OPENAI_API_KEY" in body["message"]
    assert client.get("/api/content/book").status_code == 200
