"""`bookctl mcp serve` as a real subprocess: stdio (the learner from BOOKCTL_MCP_USER_TOKEN), streamable HTTP and
SSE on 127.0.0.1 (the learner from each request's bearer token); and the done-means walk-through end to end."""

from __future__ import annotations

import subprocess
import sys
from contextlib import asynccontextmanager, contextmanager
from typing import Any, AsyncIterator, Iterator

import anyio
import httpx
import pytest

from tests.live import free_port, wait_for_http
from tests.mcp_book.conftest import EMBODIMENT, auth, http_session, new_learner, stdio_session

DONE_QUERY = "why do robots need a body to learn"


@contextmanager
def mcp_server(env: dict[str, str], cwd, transport: str) -> Iterator[str]:
    """`bookctl mcp serve --transport T` on a free loopback port; yields its base URL once it accepts connections."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bookctl", "mcp", "serve", "--transport", transport,
                             "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(base + "/", proc, 60, f"bookctl mcp serve --transport {transport}", any_status=True)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@asynccontextmanager
async def sse_session(url: str, token: str | None) -> AsyncIterator[Any]:
    from mcp import ClientSession
    from mcp.client.sse import sse_client

    async with sse_client(url, headers=auth(token)) as streams:
        async with ClientSession(streams[0], streams[1]) as session:
            await session.initialize()
            yield session


async def done_means(session) -> dict[str, Any]:
    """The issue's done-means, step by step, on one MCP session."""
    tools = await session.list_tools()
    found = await session.call_tool("search_book", {"query": DONE_QUERY})
    slug = found.structured_content["results"][0]["slug"]
    lesson = await session.call_tool("get_lesson", {"ref": slug})
    personal = await session.call_tool("personalized_lesson", {"ref": slug})
    marked = await session.call_tool("mark_lesson", {"ref": slug, "action": "complete"})
    progress = await session.call_tool("my_progress", {})
    return {"tools": {t.name for t in tools.tools}, "top": slug, "lesson": lesson, "personal": personal,
            "marked": marked, "progress": progress}


def check_done_means(out: dict[str, Any], api: str) -> None:
    assert {"search_book", "get_outline", "get_lesson", "my_progress", "recommend_next", "mark_lesson",
            "personalized_lesson"} <= out["tools"]
    assert out["top"] == EMBODIMENT
    lesson = out["lesson"].structured_content
    assert lesson["slug"] == EMBODIMENT and "Embodiment" in lesson["title"] and len(lesson["content"]) > 500
    assert not out["personal"].is_error, out["personal"].content
    personal = out["personal"].structured_content
    assert personal["slug"] == EMBODIMENT and personal["personalized_content"].strip() and personal["personalized"]
    assert personal["personalized_content"] != lesson["content"]  # the fake LLM marks what it adapted
    assert out["marked"].structured_content["status"] == "completed"
    assert out["progress"].structured_content["overall"]["completed"] == 1


def subprocess_env(book, **extra: str) -> dict[str, str]:
    import os

    return {**os.environ, **book.env, **extra}


def test_stdio_done_means_with_the_learner_from_the_environment(api, book):
    token = new_learner(api)

    async def go():
        async with stdio_session(subprocess_env(book, BOOKCTL_MCP_USER_TOKEN=token), book.ws.root) as s:
            return await done_means(s)

    out = anyio.run(go)
    check_done_means(out, api)
    # the same learner, seen through the API: the stdio server wrote to the same database
    assert httpx.get(f"{api}/api/progress/lessons/{EMBODIMENT}", headers=auth(token)).json()["status"] == "completed"


def test_stdio_without_a_learner_token_serves_the_book_only(book):
    async def go():
        async with stdio_session(subprocess_env(book), book.ws.root) as s:
            return (await s.call_tool("get_lesson", {"ref": EMBODIMENT}), await s.call_tool("my_progress", {}),
                    await s.call_tool("get_lesson", {"ref": "no/such-lesson"}))

    lesson, progress, unknown = anyio.run(go)
    assert not lesson.is_error and lesson.structured_content["slug"] == EMBODIMENT
    assert progress.is_error and "BOOKCTL_MCP_USER_TOKEN" in progress.content[0].text
    assert unknown.is_error and "no/such-lesson" in unknown.content[0].text


def test_stdio_with_a_forged_environment_token_is_refused(api, book):
    token = new_learner(api)
    body, sig = token.rsplit(".", 1)  # a JWT: header.payload.signature
    forged = body + "." + sig[::-1]

    async def go():
        async with stdio_session(subprocess_env(book, BOOKCTL_MCP_USER_TOKEN=forged), book.ws.root) as s:
            return await s.call_tool("my_progress", {})

    result = anyio.run(go)
    assert result.is_error and ": unauthorized: " in result.content[0].text


def test_streamable_http_serve_done_means_and_identity(api, book):
    token = new_learner(api)
    with mcp_server(subprocess_env(book, BOOKCTL_MCP_USER_TOKEN=token), book.ws.root, "streamable-http") as base:
        async def go():
            async with http_session(base + "/mcp", token) as s:
                out = await done_means(s)
            async with http_session(base + "/mcp") as anonymous:
                # over HTTP the environment's token is NOT used: no header, no learner
                out["anonymous"] = await anonymous.call_tool("my_progress", {})
                out["search"] = await anonymous.call_tool("search_book", {"query": DONE_QUERY})
            return out

        out = anyio.run(go)
    check_done_means(out, api)
    assert out["anonymous"].is_error and ": unauthorized: " in out["anonymous"].content[0].text
    want = httpx.post(f"{api}/api/search", json={"query": DONE_QUERY, "limit": 5}).json()
    assert out["search"].structured_content == want


def test_sse_serve_answers_the_book_and_the_learner(api, book):
    token = new_learner(api)
    with mcp_server(subprocess_env(book), book.ws.root, "sse") as base:
        async def go():
            async with sse_session(base + "/sse", token) as s:
                return (await s.call_tool("search_book", {"query": DONE_QUERY, "limit": 1}),
                        await s.call_tool("mark_lesson", {"ref": EMBODIMENT, "action": "start"}))

        found, marked = anyio.run(go)
    assert found.structured_content["results"][0]["slug"] == EMBODIMENT
    assert not marked.is_error and marked.structured_content["status"] == "in_progress"


def test_api_mount_done_means(api, book):
    token = new_learner(api)

    async def go():
        async with http_session(api + "/mcp", token) as s:
            return await done_means(s)

    check_done_means(anyio.run(go), api)


@pytest.mark.parametrize("transport", ["websocket", ""])
def test_serve_rejects_an_unknown_transport(book, transport):
    result = book.ws.run("mcp", "serve", "--transport", transport)
    assert result.code == 2 and "--transport" in result.stderr and "Traceback" not in result.stderr


def test_api_mount_across_worker_processes(api, book):
    """`bookctl serve --workers 2`: one MCP client's requests land on either worker and none fails (the mount
    keeps no session state in a process)."""
    from tests.live import bookctl_serve

    token = new_learner(api)
    with bookctl_serve(subprocess_env(book), book.ws.root, workers=2, timeout=90) as base:
        async def go():
            async with http_session(base + "/mcp", token, keepalive=False) as s:
                return [await s.call_tool(name, args) for _ in range(6) for name, args in (
                    ("get_outline", {}), ("get_lesson", {"ref": EMBODIMENT}), ("my_progress", {}),
                    ("mark_lesson", {"ref": EMBODIMENT, "action": "start"}))]

        results = anyio.run(go)
    assert all(not r.is_error and r.structured_content for r in results), [r.content for r in results if r.is_error]
