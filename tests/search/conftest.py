"""Search fixtures: workspaces wired to the fake OpenAI-compatible server (fast, deterministic vectors)."""

from __future__ import annotations

import pytest


@pytest.fixture
def openai_env(fake_openai) -> dict[str, str]:
    return {"BOOKCTL_EMBEDDINGS": "openai:text-embedding-3-small", "OPENAI_BASE_URL": fake_openai.base_url,
            "OPENAI_API_KEY": "test-key"}


@pytest.fixture
def embed_ws(any_workspace, openai_env):
    """The fixture book synced, on each dialect, with embeddings from the fake server."""
    any_workspace.env.update(openai_env)
    result = any_workspace.run("sync", "--json")
    assert result.code == 0, result.stderr
    return any_workspace
