"""End to end over real HTTP (uvicorn on 127.0.0.1), on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx

from bookctl.api.app import create_app
from tests.api.conftest import ONBOARDING, LiveServer, open_runtime

LESSON = "what-is-physical-ai/lesson-embodiment-hypothesis"
ROUTE = "/docs/Physical-AI-Foundations/what-is-physical-ai/lesson-embodiment-hypothesis"


def test_learner_journey_over_http(book_env):
    runtime = open_runtime(book_env)
    try:
        with LiveServer(create_app(runtime)) as server, httpx.Client(base_url=server.url, timeout=10) as http:
            # a new visitor: the frontend generates the id, as in the contract
            import uuid

            user_id = str(uuid.uuid4())
            r = http.post("/api/user/create", json={"user_id": user_id})
            assert r.status_code == 201, r.text
            created = r.json()
            assert created["id"] == user_id and created["onboarding_completed"] is False
            assert created["token_type"] == "bearer" and created["token"]
            auth = {"Authorization": f"Bearer {created['token']}", "X-User-ID": user_id}

            r = http.post("/api/onboarding", json={**ONBOARDING, "user_id": user_id}, headers=auth)
            assert r.status_code == 200, r.text
            assert r.json()["learning_goals"] == ["building_projects"]
            assert http.get(f"/api/user/{user_id}", headers=auth).json()["onboarding_completed"] is True
            r = http.put("/api/user/preferences", json={"preferred_language": "ur"}, headers=auth)
            assert r.status_code == 200 and r.json()["preferred_language"] == "ur"
            assert r.json()["education_level"] == "undergraduate"  # partial update keeps the rest

            book = http.get("/api/content/book").json()
            assert book["counts"]["written"] >= 19 and len(book["parts"]) == 6
            slugs = [l["slug"] for p in book["parts"] for c in p["chapters"] for l in c["lessons"]]
            assert LESSON in slugs

            by_route = http.get(f"/api/content/lessons{ROUTE}/").json()
            assert by_route["slug"] == LESSON and by_route["has_content"] is True
            assert http.get("/api/content/lessons", params={"route": ROUTE}).json()["slug"] == LESSON
            body = http.get(f"/api/content/lessons/{LESSON}/content")
            assert body.status_code == 200 and "Embodiment" in body.json()["content"]

            assert http.post(f"/api/progress/lessons/{LESSON}/start", headers=auth).json()["status"] == "in_progress"
            for _ in range(3):
                r = http.put(f"/api/progress/lessons/{LESSON}/time", json={"seconds": 100}, headers=auth)
                assert r.status_code == 200, r.text
            assert r.json()["time_spent_seconds"] == 300
            done = http.post(f"/api/progress/lessons/{LESSON}/complete", headers=auth).json()
            assert done["status"] == "completed" and done["completed_at"]
            assert http.get(f"/api/progress/lessons{ROUTE}", headers=auth).json()["status"] == "completed"

            summary = http.get("/api/progress", headers=auth).json()
            assert summary["overall"]["completed"] == 1 and summary["overall"]["time_spent_seconds"] == 300
            assert summary["overall"]["total"] == book["counts"]["written"]
            part1 = summary["parts"][0]
            assert part1["completed"] == 1 and 0 < part1["percent_complete"] < 100
            assert part1["chapters"][0]["completed"] == 1
            assert all(p["total"] == 0 for p in summary["parts"][1:])  # planned lessons do not count

            recs = http.get("/api/progress/recommendations", params={"limit": 5}, headers=auth).json()
            items = recs["items"]
            assert 1 <= len(items) <= 5
            assert LESSON not in [i["slug"] for i in items]
            assert all(i["reason"] and i["reason_code"] for i in items)
            assert items[0]["reason_code"] == "continue_chapter"
            assert items[0]["slug"] == "what-is-physical-ai/lesson-real-world-constraints"
    finally:
        runtime.close()
