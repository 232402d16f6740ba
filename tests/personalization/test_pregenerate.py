"""`bookctl.personalization.pregenerate.personalize`, the library call under `bookctl personalize`: it returns the
data the command prints, with the LLM client passed in."""

from __future__ import annotations

import pytest

from bookctl.errors import UsageError
from bookctl.personalization import pregenerate
from tests.personalization.test_cli import CHAPTER, TWO_PROFILES, _run

CHAT = "/v1/chat/completions"


def test_dry_run_returns_what_the_command_prints(env):
    data = pregenerate.personalize(env.runtime, env.generator, profiles=TWO_PROFILES, lessons=[CHAPTER], dry_run=True)
    printed = _run(env, "--profiles", TWO_PROFILES, "--lessons", CHAPTER, "--dry-run", "--json")
    assert printed.code == 0, printed.stderr
    assert data == printed.json
    assert env.llm.calls == []


def test_run_generates_through_the_client_passed_in(env):
    progress: list[tuple[int, int]] = []
    data = pregenerate.personalize(env.runtime, env.generator, profiles=TWO_PROFILES, lessons=[CHAPTER],
                                   concurrency=2, on_progress=lambda done, total: progress.append((done, total)))
    assert data["failed"] == [] and data["generated"] == data["variants"] == len(env.variants())
    assert data["llm_calls_made"] == len(env.llm.calls_to(CHAT)) >= data["generated"]
    assert progress[0] == (0, data["to_generate"]) and progress[-1] == (data["to_generate"],) * 2
    again = pregenerate.personalize(env.runtime, env.generator, profiles=TWO_PROFILES, lessons=[CHAPTER])
    assert (again["generated"], again["llm_calls_made"], again["cached"]) == (0, 0, data["variants"])


@pytest.mark.parametrize("mode", [{"batch": True}, {"dry_run": True}])
def test_collect_refuses_batch_and_dry_run_each_alone(sqlite_env, mode):
    with pytest.raises(UsageError) as info:
        pregenerate.personalize(sqlite_env.runtime, sqlite_env.generator, collect="batch_x", **mode)
    assert "--collect cannot be combined with --" + next(iter(mode)).replace("_", "-") in info.value.message
