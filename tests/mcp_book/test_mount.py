"""The API's /mcp mount over real streamable HTTP with the official SDK client: schemas, search parity with
POST /api/search, lessons, resources, prompts, identity, the miss limit, the cache, and concurrency."""

from __future__ import annotations

import uuid

import anyio
import httpx
import pytest
from mcp.shared.exceptions import MCPError

from bookctl.search.evaluate import load_queries
from tests.mcp_book.conftest import EMBODIMENT, MISS_LIMIT, SECRET, auth, http_session, new_learner
from tests.search.evalkit import QUERIES

LEARNER_TOOLS = {"my_progress", "recommend_next", "mark_lesson", "personalized_lesson"}
BOOK_TOOLS = {"search_book", "get_outline", "get_lesson"}


def run(fn, *args):
    return anyio.run(fn, *args)


def test_tools_resources_and_prompts_are_listed_with_schemas(api):
    async def go():
        async with http_session(api + "/mcp") as s:
            return (await s.list_tools(), await s.list_resources(), await s.list_resource_templates(),
                    await s.list_prompts())

    tools, resources, templates, prompts = run(go)
    by_name = {t.name: t for t in tools.tools}
    assert set(by_name) == LEARNER_TOOLS | BOOK_TOOLS
    for tool in by_name.values():
        assert tool.input_schema["type"] == "object" and tool.output_schema and tool.description
    search = by_name["search_book"]
    assert search.input_schema["required"] == ["query"]
    assert search.input_schema["properties"]["limit"]["default"] == 5
    assert set(search.input_schema["properties"]) == {"query", "limit", "part", "chapter", "layer", "type"}
    hit = search.output_schema["$defs"]["SearchHit"]["properties"]
    assert {"slug", "route", "title", "heading_path", "score", "passage"} <= set(hit)
    mark = by_name["mark_lesson"].input_schema["properties"]
    assert mark["action"]["enum"] == ["start", "complete"] and "user_id" not in mark
    for name in LEARNER_TOOLS:  # identity comes from the token, never from an argument
        assert not any("user" in p for p in by_name[name].input_schema.get("properties", {})), name
    assert [str(r.uri) for r in resources.resources] == ["book://outline"]
    assert [t.uri_template for t in templates.resource_templates] == ["book://lessons/{+slug}"]
    assert {p.name for p in prompts.prompts} == {"explain_lesson", "quiz_chapter"}


def test_search_book_returns_what_post_api_search_returns(api):
    """Every evaluation query of the fixture book: the same lessons, in the same order, with the same scores."""
    queries = [q for q in load_queries(QUERIES) if q["book"] == "fixture"]
    assert len(queries) >= 20

    async def go():
        async with http_session(api + "/mcp") as s:
            return [await s.call_tool("search_book", {"query": q["query"]}) for q in queries]

    results = run(go)
    first_right = 0
    for q, got in zip(queries, results):
        assert not got.is_error, got.content
        want = httpx.post(f"{api}/api/search", json={"query": q["query"], "limit": 5}, timeout=60).json()
        assert got.structured_content == want, q["query"]
        first_right += got.structured_content["results"][0]["slug"] == q["slug"]
    assert first_right >= len(queries) * 0.8  # the search itself is the search tests' business; sanity only


def test_search_book_filters_and_bad_input(api):
    async def go():
        async with http_session(api + "/mcp") as s:
            labs = await s.call_tool("search_book", {"query": "robot", "type": "lab", "limit": 10})
            part = await s.call_tool("search_book", {"query": "sensors", "part": 1, "chapter": 2})
            bad = [await s.call_tool("search_book", args) for args in (
                {"query": ""}, {"query": "x" * 5000}, {"query": "robot", "limit": 0}, {"query": "robot", "limit": 99},
                {"query": "robot", "type": "essay"}, {"query": "robot", "layer": "high"}, {"query": "?!"}, {})]
            return labs, part, bad

    labs, part, bad = run(go)
    want = httpx.post(f"{api}/api/search", json={"query": "robot", "limit": 10, "filters": {"type": "lab"}}).json()
    assert labs.structured_content == want and all(h["slug"].endswith("/lab") for h in want["results"])
    want = httpx.post(f"{api}/api/search", json={"query": "sensors", "limit": 5,
                                                 "filters": {"part": 1, "chapter": 2}}).json()
    assert part.structured_content == want and want["results"]
    for result in bad:
        assert result.is_error and result.content[0].text, result
    assert "no searchable words" in bad[6].content[0].text


def test_get_lesson_by_slug_route_pathname_and_url(api):
    lesson = httpx.get(f"{api}/api/content/lessons/{EMBODIMENT}").json()
    body = httpx.get(f"{api}/api/content/lessons/{EMBODIMENT}/content").json()
    route = lesson["route"]
    refs = [EMBODIMENT, route, route + "/", route.lstrip("/"), f"https://book.example.org{route}#why-a-body",
            f"{route}?tab=personalized"]

    async def go():
        async with http_session(api + "/mcp") as s:
            found = [await s.call_tool("get_lesson", {"ref": ref}) for ref in refs]
            unknown = await s.call_tool("get_lesson", {"ref": "no-such-chapter/no-such-lesson"})
            outline = await s.call_tool("get_outline", {})
            return found, unknown, outline

    found, unknown, outline = run(go)
    for ref, result in zip(refs, found):
        assert not result.is_error, (ref, result.content)
        assert result.structured_content == body, ref
    assert body["content"] and body["title"] == lesson["title"] and body["route"] == route
    assert unknown.is_error and "no-such-chapter/no-such-lesson" in unknown.content[0].text
    assert unknown.content[0].text.split(": ", 1)[1].startswith("not_found")
    book = httpx.get(f"{api}/api/content/book").json()
    assert outline.structured_content == book
    planned = next(les for part in book["parts"] for ch in part["chapters"] for les in ch["lessons"]
                   if les["status"] == "planned")

    async def planned_lesson():
        async with http_session(api + "/mcp") as s:
            return await s.call_tool("get_lesson", {"ref": planned["slug"]})

    result = run(planned_lesson)
    assert result.is_error and "planned" in result.content[0].text and planned["slug"] in result.content[0].text


def test_resources_and_prompts_come_from_the_book(api):
    token = new_learner(api)
    body = httpx.get(f"{api}/api/content/lessons/{EMBODIMENT}/content").json()
    chapter = httpx.get(f"{api}/api/content/chapters/1").json()

    async def go():
        async with http_session(api + "/mcp", token) as s:
            outline = await s.read_resource("book://outline")
            lesson = await s.read_resource(f"book://lessons/{EMBODIMENT}")
            with pytest.raises(MCPError) as missing:
                await s.read_resource("book://lessons/nope/nothing")
            explain = await s.get_prompt("explain_lesson", {"ref": EMBODIMENT})
            quiz = await s.get_prompt("quiz_chapter", {"chapter": "1", "questions": "3"})
            with pytest.raises(MCPError) as no_chapter:
                await s.get_prompt("quiz_chapter", {"chapter": "999"})
        async with http_session(api + "/mcp") as anonymous:
            plain = await anonymous.get_prompt("explain_lesson", {"ref": EMBODIMENT, "level": "advanced"})
        return outline, lesson, missing.value, explain, quiz, no_chapter.value, plain

    outline, lesson, missing, explain, quiz, no_chapter, plain = run(go)
    text = outline.contents[0].text
    assert outline.contents[0].mime_type == "text/markdown"
    assert "Chapter 1:" in text and f"`{EMBODIMENT}`" in text and "planned" in text
    assert body["content"].strip() in lesson.contents[0].text
    assert "nope/nothing" in str(missing)
    prompt = explain.messages[0].content.text
    assert body["content"].strip() in prompt and "Programming: beginner" in prompt  # the learner's onboarding
    assert "advanced" in plain.messages[0].content.text and "Programming:" not in plain.messages[0].content.text
    quiz_text = quiz.messages[0].content.text
    assert "Ask 3 questions" in quiz_text and chapter["title"] in quiz_text
    written = [les["slug"] for les in chapter["lessons"] if les["status"] == "written"]
    assert written and all(f'slug="{slug}"' in quiz_text for slug in written)
    assert "999" in str(no_chapter)


def _forge(token: str) -> str:
    body, sig = token.rsplit(".", 1)  # a JWT: header.payload.signature
    return body + "." + ("A" if sig[0] != "A" else "B") + sig[1:]


def test_learner_tools_need_a_valid_token_and_act_only_for_its_owner(api, book):
    from bookctl.api.auth import TokenSigner

    alice, bob = new_learner(api), new_learner(api)
    bob_id = httpx.get(f"{api}/api/progress", headers=auth(bob)).json()["user_id"]
    other_key = TokenSigner(b"another-deployment-key-0123456789abcdef", 3600).issue(uuid.UUID(bob_id))[0]
    expired = TokenSigner(SECRET.encode(), 3600).issue(uuid.UUID(bob_id), now=1_000_000)[0]
    ghost = TokenSigner(SECRET.encode(), 3600).issue(uuid.uuid4())[0]  # validly signed, no such user
    calls = [("my_progress", {}), ("recommend_next", {"limit": 3}),
             ("mark_lesson", {"ref": EMBODIMENT, "action": "start"}), ("personalized_lesson", {"ref": EMBODIMENT})]
    chat_before = book.chat_calls()

    async def refused(token):
        async with http_session(api + "/mcp", token) as s:
            out = [await s.call_tool(name, args) for name, args in calls]
            out.append(await s.call_tool("get_outline", {}))  # the book stays public
            return out

    for token, kind in ((None, "unauthorized"), (_forge(alice), "unauthorized"), (other_key, "unauthorized"),
                        (expired, "unauthorized"), ("not-a-token", "unauthorized"), (ghost, "not_found")):
        results = run(refused, token)
        for (name, _), result in zip(calls, results):
            assert result.is_error, (token, name)
            assert f": {kind}: " in result.content[0].text, (name, result.content[0].text)
        assert not results[-1].is_error
    assert book.chat_calls() == chat_before

    async def as_alice():
        async with http_session(api + "/mcp", alice) as s:
            # an extra user_id argument is not a way to act for someone else
            done = await s.call_tool("mark_lesson", {"ref": EMBODIMENT, "action": "complete", "user_id": bob_id})
            return done, await s.call_tool("my_progress", {}), await s.call_tool("recommend_next", {"limit": 3})

    done, mine, recs = run(as_alice)
    assert not done.is_error and done.structured_content["status"] == "completed"
    api_mine = httpx.get(f"{api}/api/progress", headers=auth(alice)).json()
    assert mine.structured_content == api_mine and api_mine["overall"]["completed"] == 1
    api_recs = httpx.get(f"{api}/api/progress/recommendations?limit=3", headers=auth(alice)).json()
    assert recs.structured_content == api_recs
    assert httpx.get(f"{api}/api/progress", headers=auth(bob)).json()["overall"]["completed"] == 0
    assert not any(i["slug"] == EMBODIMENT for i in api_recs["items"])


def test_personalized_lesson_cache_miss_limit_and_guards(api, book):
    lessons = [les["slug"] for les in httpx.get(f"{api}/api/content/chapters/1").json()["lessons"]
               if les["status"] == "written"][: MISS_LIMIT + 1]
    assert len(lessons) == MISS_LIMIT + 1
    first, second, newcomer = new_learner(api), new_learner(api), new_learner(api, onboard=False)

    async def personalize(token, refs):
        async with http_session(api + "/mcp", token) as s:
            return [await s.call_tool("personalized_lesson", {"ref": ref}) for ref in refs]

    before = book.chat_calls()
    made = run(personalize, first, lessons)
    for slug, result in zip(lessons[:MISS_LIMIT], made):
        assert not result.is_error, result.content
        out = result.structured_content
        assert out["slug"] == slug and out["personalized_content"] and out["cached"] in (True, False)
    assert sum(not r.structured_content["cached"] for r in made[:MISS_LIMIT]) >= 1
    assert made[-1].is_error and ": rate_limited: " in made[-1].content[0].text  # the per-learner miss limit
    generated = book.chat_calls() - before
    assert generated >= 1

    # Same profile, another learner: the shared variants are served from the cache, with no LLM call at all.
    before = book.chat_calls()
    served = run(personalize, second, lessons[:MISS_LIMIT])
    assert book.chat_calls() == before
    for mine, theirs in zip(made, served):
        assert not theirs.is_error and theirs.structured_content["cached"] is True
        assert theirs.structured_content["personalized_content"] == mine.structured_content["personalized_content"]
    api_view = httpx.post(f"{api}/api/personalize", json={"lesson_slug": lessons[0]}, headers=auth(second)).json()
    assert api_view["personalized_content"] == served[0].structured_content["personalized_content"]

    refused = run(personalize, newcomer, [lessons[0], "no-such/lesson"])
    assert refused[0].is_error and "onboarding" in refused[0].content[0].text
    assert refused[1].is_error and "no-such/lesson" in refused[1].content[0].text
    assert book.chat_calls() == before


def test_fifty_concurrent_tool_calls_over_one_session(api):
    token = new_learner(api)
    outline = httpx.get(f"{api}/api/content/book").json()
    slugs = [les["slug"] for part in outline["parts"] for ch in part["chapters"] for les in ch["lessons"]
             if les["status"] == "written"]
    calls = []
    for i in range(50):
        kind = i % 5
        if kind == 0:
            calls.append(("search_book", {"query": f"robot sensors and motors {i}", "limit": 3}))
        elif kind == 1:
            calls.append(("get_lesson", {"ref": slugs[i % len(slugs)]}))
        elif kind == 2:
            calls.append(("get_outline", {}))
        elif kind == 3:
            calls.append(("mark_lesson", {"ref": slugs[i % len(slugs)], "action": "start"}))
        else:
            calls.append(("my_progress", {}))

    async def go():
        results: list = [None] * len(calls)
        async with http_session(api + "/mcp", token) as s:
            async def one(i, name, args):
                results[i] = await s.call_tool(name, args)

            with anyio.fail_after(240):
                async with anyio.create_task_group() as tg:
                    for i, (name, args) in enumerate(calls):
                        tg.start_soon(one, i, name, args)
        return results

    results = run(go)
    failed = [(calls[i][0], r.content) for i, r in enumerate(results) if r is None or r.is_error]
    assert not failed
    assert all(r.structured_content for r in results)
    progress = httpx.get(f"{api}/api/progress", headers=auth(token)).json()
    assert progress["overall"]["in_progress"] == len({calls[i][1]["ref"] for i in range(3, 50, 5)})


def test_review_policy_applies_to_personalized_lesson(api, book, embedder):
    """BOOKCTL_VARIANT_REVIEW=required: the MCP tool serves what the API serves (the original, not personalized,
    with a reason) and never starts a generation."""
    from bookctl.api.app import create_app
    from bookctl.config import load_settings
    from bookctl.runtime import Runtime
    from tests.live import LiveServer

    lesson = [les["slug"] for les in httpx.get(f"{api}/api/content/chapters/2").json()["lessons"]
              if les["status"] == "written"][-1]
    runtime = Runtime.open(load_settings({**book.env, "BOOKCTL_VARIANT_REVIEW": "required"}))
    try:
        with LiveServer(create_app(runtime, embedder=embedder)) as server:
            token = new_learner(server.url)
            before = book.chat_calls()

            async def go():
                async with http_session(server.url + "/mcp", token) as s:
                    return await s.call_tool("personalized_lesson", {"ref": lesson})

            result = run(go)
            via_api = httpx.post(f"{server.url}/api/personalize", json={"lesson_slug": lesson},
                                 headers=auth(token)).json()
    finally:
        runtime.close()
    assert not result.is_error, result.content
    out = result.structured_content
    assert out["personalized"] is False and out["reason"] == via_api["reason"] and out["reason"]
    assert out["personalized_content"] == via_api["personalized_content"]
    assert book.chat_calls() == before
