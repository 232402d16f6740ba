"""MCP fixtures: the fixture book synced and embedded (real MiniLM vectors from the cache), the learner API with
its /mcp mount on a real loopback server, the fake LLM over real HTTP, and official-SDK clients."""

from __future__ import annotations

import shutil
import sys
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
import pytest

from tests.conftest import FIXTURE_BOOK, Workspace, make_workspace
from tests.fakes.openai_server import FakeOpenAI, PersonalizeFake
from tests.live import LiveServer

SECRET = "mcp-test-secret-key-0123456789abcdefghijkl"
MISS_LIMIT = 3
EMBODIMENT = "what-is-physical-ai/lesson-embodiment-hypothesis"
ONBOARDING = {
    "education_level": "undergraduate", "programming_experience": "beginner", "robotics_background": False,
    "ai_ml_experience": "basic", "learning_goals": ["building_projects"], "preferred_language": "en",
}


@dataclass
class Book:
    ws: Workspace
    env: dict[str, str]  # the settings' environment (also what a `bookctl mcp serve` subprocess gets)
    runtime: Any
    llm: FakeOpenAI

    def chat_calls(self) -> int:
        return len(self.llm.calls_to("/v1/chat/completions"))


@pytest.fixture(scope="session")
def llm():
    with FakeOpenAI() as server:
        server.chat = PersonalizeFake()
        yield server


@pytest.fixture(scope="session")
def book(tmp_path_factory, llm) -> Book:
    """The robotics book synced into SQLite and embedded with all-MiniLM-L6-v2 (vectors from the test cache)."""
    from bookctl.config import load_settings
    from bookctl.runtime import Runtime
    from tests.search.evalkit import open_embedded

    root = tmp_path_factory.mktemp("mcp-book")
    shutil.copytree(FIXTURE_BOOK, root / "book", ignore=shutil.ignore_patterns("contract"))
    ws = make_workspace(root / "ws", root / "book")
    first, _book_id, _ = open_embedded(ws)
    first.close()
    env = {**ws.env, "BOOKCTL_SECRET_KEY": SECRET, "OPENAI_BASE_URL": llm.base_url, "OPENAI_API_KEY": "test-key",
           "BOOKCTL_PERSONALIZE_MISS_LIMIT": str(MISS_LIMIT), "BOOKCTL_LLM_MAX_ATTEMPTS": "2",
           "BOOKCTL_LLM_BACKOFF": "0.01", "BOOKCTL_LLM_TIMEOUT": "10"}
    runtime = Runtime.open(load_settings(env))
    yield Book(ws, env, runtime, llm)
    runtime.close()


@pytest.fixture(scope="session")
def embedder():
    from bookctl.llm.embedders import LocalEmbedder

    return LocalEmbedder()


@pytest.fixture(scope="session")
def api(book, embedder) -> str:
    """The learner API (with /mcp) under uvicorn on 127.0.0.1; yields its base URL."""
    from bookctl.api.app import create_app

    with LiveServer(create_app(book.runtime, embedder=embedder)) as server:
        yield server.url


def new_learner(base: str, *, onboard: bool = True) -> str:
    """A learner created through the API; returns their bearer token."""
    created = httpx.post(f"{base}/api/user/create", json={}, timeout=10)
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    if onboard:
        done = httpx.post(f"{base}/api/onboarding", json=ONBOARDING, headers=auth(token), timeout=10)
        assert done.status_code in (200, 201), done.text
    return token


def auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


# ---------------------------------------------------------------- official SDK clients

@asynccontextmanager
async def http_session(url: str, token: str | None = None, *, keepalive: bool = True) -> AsyncIterator[Any]:
    """An MCP ClientSession over streamable HTTP (the bearer token, if any, on every request). Without keep-alive
    every request opens a new connection, which a multi-worker server may hand to any worker."""
    import httpx2
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    limits = httpx2.Limits() if keepalive else httpx2.Limits(max_keepalive_connections=0)
    async with httpx2.AsyncClient(headers=auth(token), timeout=httpx2.Timeout(60.0), limits=limits) as http:
        async with streamable_http_client(url, http_client=http) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                await session.initialize()
                yield session


@asynccontextmanager
async def stdio_session(env: dict[str, str], cwd: Path) -> AsyncIterator[Any]:
    """An MCP ClientSession to `bookctl mcp serve` (stdio) running as a subprocess."""
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=sys.executable, args=["-m", "bookctl", "mcp", "serve"], env=env,
                                   cwd=str(cwd))
    async with stdio_client(params, errlog=sys.stderr) as streams:
        async with ClientSession(streams[0], streams[1]) as session:
            await session.initialize()
            yield session
