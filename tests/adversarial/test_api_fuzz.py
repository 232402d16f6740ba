"""API fuzz cases: JSON nested 10,000 deep and integers past 64 bits answer 400 in the error shape, never a
500 (RecursionError, OverflowError), on every JSON endpoint, authenticated or not, on both dialects."""

from __future__ import annotations

import re

import pytest
from litestar.testing import TestClient

DEEP = "[" * 10_000 + "]" * 10_000
DEEP_OBJECT = '{"a":' * 5_000 + "1" + "}" * 5_000
HUGE = 2**63


@pytest.fixture(scope="module")
def api(book_env):
    from bookctl.api.app import create_app
    from bookctl.runtime import Runtime

    runtime = Runtime.open(book_env.settings)
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        user = client.post("/api/user/create", json={}).json()
        client.headers["Authorization"] = f"Bearer {user['token']}"
        yield client
    runtime.close()


def json_endpoints(client) -> list[tuple[str, str]]:
    """Every route that takes a request body, read from the app itself (new ones are covered as they come)."""
    out = []
    for route in client.app.routes:
        for method in sorted(getattr(route, "methods", ())):
            if method in ("POST", "PUT", "PATCH"):
                out.append((method, re.sub(r"\{[^}]+\}", "x", route.path)))
    return sorted(set(out))


def assert_error_shape(response, status: int) -> None:
    assert response.status_code == status, (response.request.url, response.status_code, response.text[:300])
    body = response.json()
    assert set(body) == {"error", "message", "detail"}, body


def test_the_app_has_json_endpoints(api) -> None:
    endpoints = json_endpoints(api)
    assert ("POST", "/api/user/create") in endpoints and ("POST", "/api/search") in endpoints, endpoints
    assert len(endpoints) >= 5, endpoints


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["array", "object"])
def test_deeply_nested_json_is_a_400_on_every_endpoint(api, body) -> None:
    for method, path in json_endpoints(api):
        for headers in ({}, {"Authorization": ""}):  # with the learner's token, and without one
            response = api.request(method, path, content=body.encode(),
                                   headers={"Content-Type": "application/json", **headers})
            assert_error_shape(response, 400)
            assert "nested" in response.json()["message"]


def test_moderately_nested_json_still_reaches_the_handler(api) -> None:
    # 20 levels: under the cap, so the handler's own validation answers (a 400 naming the field)
    body = '{"query": "robot", "filters": ' + "[" * 20 + "]" * 20 + "}"
    response = api.post("/api/search", content=body, headers={"Content-Type": "application/json"})
    assert_error_shape(response, 400)
    assert "nested" not in response.json()["message"]


@pytest.mark.parametrize("payload", [
    {"query": "robot", "filters": {"part": HUGE}},
    {"query": "robot", "filters": {"chapter": HUGE}},
    {"query": "robot", "filters": {"part": -HUGE}},
    {"query": "robot", "filters": {"part": 2**31}},
    {"query": "robot", "limit": HUGE},
    {"query": "robot", "limit": 10**400},
])
def test_huge_integers_are_a_400(api, payload) -> None:
    import json

    response = api.post("/api/search", content=json.dumps(payload), headers={"Content-Type": "application/json"})
    assert_error_shape(response, 400)


def test_in_range_filters_still_work(api) -> None:
    response = api.post("/api/search", json={"query": "robot", "filters": {"part": 1, "chapter": 2**31 - 1}})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("path", [f"/api/content/parts/{HUGE}", f"/api/content/chapters/{HUGE}",
                                  f"/api/content/parts/{10**30}"])
def test_huge_path_numbers_are_not_a_500(api, path) -> None:
    response = api.get(path)
    assert 400 <= response.status_code < 500, (path, response.status_code, response.text)


def test_huge_time_delta_is_a_400(api) -> None:
    response = api.put("/api/progress/lessons/x/time", json={"seconds": HUGE})
    assert_error_shape(response, 400)
