"""The frontend contract (contract/api.yaml) is honoured by our OpenAPI: paths under /api, fields, enums."""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import FIXTURE_BOOK

CONTRACT = yaml.safe_load((FIXTURE_BOOK / "contract" / "api.yaml").read_text(encoding="utf-8"))
MINE = {"/user/create", "/user/{user_id}", "/onboarding", "/user/preferences"}
# request body schema in the contract -> ours
BODIES = {("/user/create", "post"), ("/onboarding", "post"), ("/user/preferences", "put")}


@pytest.fixture(scope="module")
def ours(client) -> dict:
    return client.get("/schema/openapi.json").json()


def resolve(doc: dict, schema: dict) -> dict:
    while "$ref" in schema:
        node = doc
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    if "oneOf" in schema or "anyOf" in schema:  # Optional[X] -> X
        options = [resolve(doc, s) for s in schema.get("oneOf", schema.get("anyOf"))]
        options = [o for o in options if o.get("type") != "null"]
        if len(options) == 1:
            return options[0]
    return schema


def enum_of(doc: dict, prop: dict) -> set | None:
    prop = resolve(doc, prop)
    if "enum" in prop:
        return set(prop["enum"])
    if prop.get("type") == "array":
        return enum_of(doc, prop["items"])
    return None


def test_every_contract_path_and_method_exists(ours):
    for path, methods in CONTRACT["paths"].items():
        if path not in MINE and not any(p.startswith("/api" + path) for p in ours["paths"]):
            continue  # /personalize* belong to the personalization controller, checked when registered
        ours_path = ours["paths"].get("/api" + path)
        assert ours_path is not None, path
        for method in methods:
            assert method in ours_path, (path, method)


@pytest.mark.parametrize("path,method", sorted(BODIES))
def test_request_fields_required_and_enums_match(ours, path, method):
    theirs = resolve(CONTRACT, CONTRACT["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"])
    op = ours["paths"]["/api" + path][method]
    mine = resolve(ours, op["requestBody"]["content"]["application/json"]["schema"])
    assert set(theirs["properties"]) <= set(mine["properties"]), path
    # we never require more than the contract does (user_id comes from the token)
    assert set(mine.get("required", [])) <= set(theirs.get("required", [])), path
    for name, prop in theirs["properties"].items():
        assert enum_of(CONTRACT, prop) == enum_of(ours, mine["properties"][name]), (path, name)
        if "minItems" in prop:
            assert resolve(ours, mine["properties"][name]).get("minItems") == prop["minItems"]


@pytest.mark.parametrize("path,method,schema_name", [
    ("/user/create", "post", "UserResponse"), ("/user/{user_id}", "get", "UserResponse"),
    ("/onboarding", "post", "UserPreferencesResponse"), ("/user/preferences", "get", "UserPreferencesResponse"),
    ("/user/preferences", "put", "UserPreferencesResponse"),
])
def test_response_fields_match(ours, path, method, schema_name):
    theirs = CONTRACT["components"]["schemas"][schema_name]
    responses = ours["paths"]["/api" + path][method]["responses"]
    ok = next(v for k, v in responses.items() if k.startswith("2"))
    mine = resolve(ours, ok["content"]["application/json"]["schema"])
    assert set(theirs["properties"]) <= set(mine["properties"])
    for code in ("400", "404"):
        if code in responses:
            err = resolve(ours, responses[code]["content"]["application/json"]["schema"])
            assert set(err["properties"]) == {"error", "message", "detail"}


def test_contract_shapes_over_the_wire(client):
    import uuid

    uid = str(uuid.uuid4())
    created = client.post("/api/user/create", json={"user_id": uid}).json()
    assert set(CONTRACT["components"]["schemas"]["UserResponse"]["properties"]) <= set(created)
    headers = {"Authorization": f"Bearer {created['token']}", "X-User-ID": uid}
    body = {"user_id": uid, "education_level": "graduate", "programming_experience": "advanced",
            "robotics_background": True, "ai_ml_experience": "advanced", "learning_goals": ["research"],
            "preferred_language": "ur"}
    prefs = client.post("/api/onboarding", json=body, headers=headers).json()
    assert set(CONTRACT["components"]["schemas"]["UserPreferencesResponse"]["properties"]) == set(prefs)
    assert {k: prefs[k] for k in body} == body
