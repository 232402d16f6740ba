"""The OpenAPI document is fit for generated clients: explicit operationIds, the progress actions as explicit
paths, every error response in the {error, message, detail} schema (Retry-After where it applies), public
operations marked public, X-User-ID typed as a UUID."""

from __future__ import annotations

import pytest

PUBLIC = {("get", "/healthz"), ("post", "/api/user/create"), ("post", "/api/search"), ("get", "/api/content/book"),
          ("get", "/api/content/parts"), ("get", "/api/content/lessons/{ref}")}


@pytest.fixture(scope="module")
def spec(client):
    r = client.get("/schema/openapi.json")
    assert r.status_code == 200
    return r.json()


def operations(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "delete", "patch"):
                yield method, path, op


def test_every_operation_has_an_explicit_unique_operation_id(spec):
    ids = [op.get("operationId") for _, _, op in operations(spec)]
    assert all(ids) and len(ids) == len(set(ids))
    assert all(i[0].islower() and "_" not in i and "Api" not in i for i in ids), ids
    by_id = {op["operationId"]: (method, path) for method, path, op in operations(spec)}
    for expected in ("createUser", "getUser", "getCurrentUser", "refreshToken", "submitOnboarding", "getPreferences",
                     "updatePreferences", "personalizeLesson", "clearPersonalizationCache", "getProgress",
                     "getLessonProgress", "startLesson", "completeLesson", "addLessonTime", "getRecommendations"):
        assert expected in by_id, expected


def test_progress_actions_are_explicit_paths(spec):
    paths = spec["paths"]
    assert paths["/api/progress/lessons/{slug}/start"]["post"]["operationId"] == "startLesson"
    assert paths["/api/progress/lessons/{slug}/complete"]["post"]["operationId"] == "completeLesson"
    assert paths["/api/progress/lessons/{slug}/time"]["put"]["operationId"] == "addLessonTime"
    assert "post" not in paths.get("/api/progress/lessons/{ref}", {})  # the catch-all is not what clients see


def test_errors_are_documented_with_the_error_schema_and_retry_after(spec):
    schemas = spec["components"]["schemas"]
    assert set(schemas["ErrorResponse"]["required"]) == {"error", "message", "detail"}
    seen: set[str] = set()
    for method, path, op in operations(spec):
        for status, response in op["responses"].items():
            if status[0] in "45":
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorResponse"), (method, path, status, ref)
                seen.add(status)
                if status in ("429", "503"):
                    assert response["headers"]["Retry-After"]["schema"]["type"] == "integer", (method, path)
    assert {"400", "401", "403", "404", "409", "413", "429", "502", "503"} <= seen
    personalize = spec["paths"]["/api/personalize"]["post"]["responses"]
    assert {"401", "403", "429", "502", "503"} <= set(personalize)
    assert "400" in spec["paths"]["/api/personalize/cache"]["delete"]["responses"]


def test_public_operations_are_public_and_user_scoped_ones_need_the_bearer(spec):
    assert "security" not in spec  # no global requirement to inherit
    for method, path, op in operations(spec):
        if (method, path) in PUBLIC or path.startswith("/api/content"):
            assert op.get("security") == [], (method, path)
        elif path.startswith(("/api/progress", "/api/personalize", "/api/onboarding", "/api/user/preferences")) \
                or path in ("/api/user/me", "/api/user/{user_id}", "/api/user/token/refresh"):
            assert op.get("security") == [{"BearerToken": []}], (method, path)


def test_x_user_id_is_documented_as_a_uuid(spec):
    found = 0
    for _, _, op in operations(spec):
        for param in op.get("parameters", []):
            if param["name"] == "X-User-ID":
                found += 1
                schema = param["schema"]
                formats = [schema.get("format")] + [s.get("format") for s in schema.get("oneOf", [])]
                assert "uuid" in formats and param["in"] == "header" and not param.get("required")
    assert found >= 10


@pytest.mark.parametrize("value", [0, 1, "true", "false", None])
def test_booleans_are_json_booleans(client, value):
    from tests.api.conftest import ONBOARDING, new_user

    user_id, auth = new_user(client)
    r = client.post("/api/onboarding", json={**ONBOARDING, "robotics_background": value}, headers=auth)
    assert r.status_code == 400 and r.json()["detail"]["errors"][0]["field"] == "robotics_background", r.text
    assert client.get("/api/user/preferences", headers=auth).status_code == 404  # nothing was stored
    assert client.post("/api/onboarding", json=ONBOARDING, headers=auth).status_code == 200
    r = client.put("/api/user/preferences", json={"robotics_background": value}, headers=auth)
    assert r.status_code == 400
    assert client.get("/api/user/preferences", headers=auth).json()["robotics_background"] is False


# ------------------------------------------------- what schemathesis --checks all found on the old document
# (tests/api/test_schemathesis.py runs it; these pin each finding down on its own)

def _sample(path: str) -> str:
    return path.replace("{ref}", "what-is-physical-ai/lesson-embodiment-hypothesis").replace(
        "{slug}", "intro").replace("{user_id}", "00000000-0000-4000-8000-000000000000").replace("{number}", "1")


def test_options_allow_lists_exactly_the_documented_methods(spec, client):
    """Litestar kept the OPTIONS handler of a path's first handler (preferences: `GET, OPTIONS`, no PUT), and
    sent every …/lessons/… OPTIONS to the hidden catch-all (`…/time`: `OPTIONS, POST`, not PUT)."""
    for path, item in spec["paths"].items():
        documented = {m.upper() for m in item if m in ("get", "post", "put", "delete", "patch")}
        r = client.options(_sample(path))
        assert r.status_code == 204, (path, r.status_code)
        assert set(r.headers["allow"].split(", ")) == documented | {"OPTIONS"}, (path, r.headers["allow"])


def test_an_optional_body_is_documented_as_optional(spec, client):
    body = spec["paths"]["/api/user/create"]["post"]["requestBody"]
    assert body.get("required") is False  # was true, yet no body is a 201
    assert client.post("/api/user/create").status_code == 201


def test_strict_bodies_forbid_unknown_properties_in_the_document(spec, client):
    schemas = spec["components"]["schemas"]
    for name in ("SearchQuery", "SearchFilters"):  # msgspec forbid_unknown_fields: an unknown field is a 400
        assert schemas[name]["additionalProperties"] is False, name
    r = client.post("/api/search", json={"query": "robot", "extra": 1})
    assert r.status_code == 400 and r.json()["error"] == "validation_error"
    assert "additionalProperties" not in schemas["UserCreate"]  # which ignores unknown fields, and says so
    assert client.post("/api/user/create", json={"extra": 1}).status_code == 201


def test_search_limits_are_in_the_schema(spec, client):
    """"" and "!!!" were refused with a schema that allowed them; so was filters.type "" (any string)."""
    search = spec["components"]["schemas"]["SearchQuery"]["properties"]["query"]
    assert search["minLength"] == 1 and search["maxLength"] == 500 and search["pattern"] == r"\w"
    filters = spec["components"]["schemas"]["SearchFilters"]["properties"]
    assert set(filters["type"]["enum"]) - {None} == {"lesson", "lab", "summary", "index"}
    assert filters["layer"]["pattern"] == "^L[0-9]{1,2}$"
    assert (filters["part"]["minimum"], filters["part"]["maximum"]) == (0, 2**31 - 1)  # minimum 0 was dropped
    for body in ({"query": ""}, {"query": "!!!"}, {"query": "robot", "filters": {"type": ""}},
                 {"query": "robot", "filters": {"part": -1}},
                 {"query": "robot", "filters": {"layer": "L٣"}}):
        r = client.post("/api/search", json=body)
        assert r.status_code == 400 and r.json()["error"] == "validation_error", (body, r.text)
    ok = client.post("/api/search", json={"query": "robot", "filters": {"type": "lesson", "layer": "L1", "part": 0}})
    assert ok.status_code == 200, ok.text


def test_refresh_documents_its_403(spec, client):
    from tests.api.conftest import new_user

    assert "403" in spec["paths"]["/api/user/token/refresh"]["post"]["responses"]
    _, auth = new_user(client)
    r = client.post("/api/user/token/refresh", headers={**auth, "X-User-ID": "00000000-0000-4000-8000-000000000000"})
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
