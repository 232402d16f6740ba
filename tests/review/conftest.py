"""The personalization fixtures (a synced book on each dialect, the fake LLM over real HTTP) serve these tests."""

from tests.personalization.conftest import env, llm, sqlite_env  # noqa: F401
