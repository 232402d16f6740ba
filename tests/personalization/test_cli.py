"""`bookctl personalize`: dry-run plan, pre-generation, resumability, Batch API submit + collect."""

from __future__ import annotations

import json

from tests.personalization.conftest import ADVANCED, BEGINNER, URDU

CHAT = "/v1/chat/completions"
CHAPTER = "what-is-physical-ai"
TWO_PROFILES = "matrix:programming_experience=beginner,advanced"


def _run(env, *args: str):
    return env.ws.run("personalize", *args, OPENAI_BASE_URL=env.llm.base_url, OPENAI_API_KEY="test",
                      BOOKCTL_LLM_MAX_ATTEMPTS="2", BOOKCTL_LLM_BACKOFF="0.01")


def test_dry_run_prints_an_honest_plan_and_calls_nothing(env):
    result = _run(env, "--profiles", TWO_PROFILES, "--lessons", CHAPTER, "--dry-run", "--json")
    assert result.code == 0, result.stderr
    plan = result.json
    assert plan["dry_run"] and plan["cached"] == 0
    assert plan["lessons"] >= 3 and plan["variants"] == plan["lessons"] * 2 == plan["to_generate"]
    est = plan["estimate"]
    assert est["tokens_in"] > 1000 and est["tokens_out"] > 1000
    assert est["cost_usd"] == round((est["tokens_in"] * 0.15 + est["tokens_out"] * 0.60) / 1e6, 6)
    assert plan["llm_calls"] >= plan["to_generate"]
    assert env.llm.calls == []

    human = _run(env, "--profiles", TWO_PROFILES, "--lessons", CHAPTER, "--dry-run")
    assert "would generate" in human.stdout and "cost $" in human.stdout


def test_price_table_and_batch_discount(env, tmp_path):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"gpt-4o-mini": {"input": 1.0, "output": 2.0}}))
    args = ("--profiles", TWO_PROFILES, "--lessons", CHAPTER, "--dry-run", "--json")
    normal = env.ws.run("personalize", *args, BOOKCTL_LLM_PRICE_TABLE=str(prices)).json["estimate"]
    assert normal["cost_usd"] == round((normal["tokens_in"] * 1.0 + normal["tokens_out"] * 2.0) / 1e6, 6)
    batch = env.ws.run("personalize", *args, "--batch", BOOKCTL_LLM_PRICE_TABLE=str(prices), OPENAI_BASE_URL="http://127.0.0.1:9/v1")
    # --dry-run with --batch only plans: nothing is submitted (the endpoint above does not even exist)
    assert batch.code == 0 and batch.json["estimate"]["cost_usd"] == round(normal["cost_usd"] / 2, 6)


def test_run_then_rerun_makes_no_llm_call(env):
    first = _run(env, "--profiles", TWO_PROFILES, "--lessons", CHAPTER, "--json")
    assert first.code == 0, first.stderr
    data = first.json
    assert data["generated"] == data["to_generate"] == data["variants"] and data["failed"] == []
    calls = len(env.llm.calls_to(CHAT))
    assert calls == data["llm_calls_made"] >= data["generated"]
    assert len(env.variants()) == data["variants"]

    again = _run(env, "--profiles", TWO_PROFILES, "--lessons", CHAPTER, "--json")
    assert again.code == 0 and again.json["to_generate"] == 0 and again.json["cached"] == data["variants"]
    assert len(env.llm.calls_to(CHAT)) == calls  # resumable: a re-run calls no LLM


def test_top_profiles_come_from_real_learners_and_serve_them(env):
    for prefs in (BEGINNER, BEGINNER, dict(BEGINNER, learning_goals=["research"]), ADVANCED, URDU):
        env.user(prefs)
    result = _run(env, "--profiles", "top:2", "--lessons", CHAPTER + "/lesson-embodiment-hypothesis", "--json")
    assert result.code == 0, result.stderr
    assert [p["learners"] for p in result.json["profiles"]] == [3, 1]
    calls = len(env.llm.calls_to(CHAT))
    learner = env.user(BEGINNER)
    assert env.service.personalize(learner, CHAPTER + "/lesson-embodiment-hypothesis").cached
    assert len(env.llm.calls_to(CHAT)) == calls


def test_profiles_file(env, tmp_path):
    path = tmp_path / "profiles.json"
    path.write_text(json.dumps({"profiles": [{"programming_experience": "none", "preferred_language": "ur"}]}))
    result = _run(env, "--profiles", str(path), "--lessons", CHAPTER, "--dry-run", "--json")
    assert result.code == 0, result.stderr
    assert result.json["profiles"][0]["profile"]["preferred_language"] == "ur"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"programming_experience": "wizard"}]))
    assert _run(env, "--profiles", str(bad), "--dry-run").code == 2


def test_failures_are_reported_and_not_cached(sqlite_env):
    env = sqlite_env
    env.fake.misbehave("drop_code", times=1000)
    slug = env.lesson_slug("part-summary")
    result = _run(env, "--profiles", "matrix:preferred_language=en", "--lessons", slug, "--json")
    assert result.code == 1
    assert len(result.json["failed"]) == 1 and result.json["failed"][0]["error"] == "upstream_error"
    assert env.variants() == []


def test_batch_submit_and_collect_is_idempotent(env):
    env.llm.batch_polls_before_done = 1
    submitted = _run(env, "--profiles", TWO_PROFILES, "--lessons", CHAPTER, "--batch", "--json")
    assert submitted.code == 0, submitted.stderr
    batch = submitted.json["batch"]
    assert batch["batch_id"] and batch["variants"] == submitted.json["to_generate"]
    lines = env.llm.files[batch["input_file_id"]]["content"].decode().splitlines()
    assert len(lines) == batch["requests"]
    assert all("|" in json.loads(line)["custom_id"] for line in lines)  # custom_id = the cache key
    assert env.llm.calls_to(CHAT) == []

    # submitting again while the batch is pending does not double-submit
    again = _run(env, "--profiles", TWO_PROFILES, "--lessons", CHAPTER, "--batch", "--json")
    assert again.json["batch"]["batch_id"] is None and again.json["pending_in_batch"] == batch["variants"]

    pending = _run(env, "--collect", batch["batch_id"], "--json")
    assert pending.code == 0 and not pending.json["collected"] and env.variants() == []

    done = _run(env, "--collect", batch["batch_id"], "--json")
    assert done.code == 0, done.stdout + done.stderr
    assert done.json["written"] == batch["variants"] and done.json["failed"] == []
    assert len(env.variants()) == batch["variants"]

    twice = _run(env, "--collect", batch["batch_id"], "--json")
    assert twice.json["written"] == 0 and twice.json["skipped"] == batch["variants"]
    assert len(env.variants()) == batch["variants"]
    rerun = _run(env, "--profiles", TWO_PROFILES, "--lessons", CHAPTER, "--json")
    assert rerun.json["to_generate"] == 0 and env.llm.calls_to(CHAT) == []


def test_batch_answers_failing_a_guard_are_retried_online_or_fail(sqlite_env):
    env = sqlite_env
    slug = env.lesson_slug("part-summary")
    env.fake.misbehave("drop_code", times=1000)
    submitted = _run(env, "--profiles", "matrix:preferred_language=en", "--lessons", slug, "--batch", "--json")
    batch_id = submitted.json["batch"]["batch_id"]
    done = _run(env, "--collect", batch_id, "--json")
    assert done.code == 1 and len(done.json["failed"]) == 1 and env.variants() == []
    env.fake.queue.clear()
    # the variant is not pending any more: a normal run generates it
    rerun = _run(env, "--profiles", "matrix:preferred_language=en", "--lessons", slug, "--json")
    assert rerun.code == 0 and rerun.json["generated"] == 1


def test_status_reports_personalized_and_stale_variants(sqlite_env):
    env = sqlite_env
    assert _run(env, "--profiles", TWO_PROFILES, "--lessons", CHAPTER + "/lesson-embodiment-hypothesis").code == 0
    report = env.ws.run("status", "--json").json["stages"]["personalization"]
    assert report == {"personalized": 2, "profiles": 2, "stale": 0, "unreviewed": 2, "approved": 0, "rejected": 0}
    path = next(env.ws.book.rglob("02-lesson-embodiment-hypothesis.md"))
    path.write_text(path.read_text() + "\n\nEdited.\n")
    assert env.ws.run("sync").code == 0
    report = env.ws.run("status", "--json").json["stages"]["personalization"]
    assert report == {"personalized": 0, "profiles": 0, "stale": 2, "unreviewed": 0, "approved": 0, "rejected": 0}
    planned = env.ws.run("personalize", "--prune", "--dry-run", "--json").json
    assert (planned["dry_run"], planned["pruned"], planned["would_prune"]) == (True, 0, 2)
    assert {v["lesson"] for v in planned["variants"]} == {CHAPTER + "/lesson-embodiment-hypothesis"}
    listed = env.ws.run("personalize", "--prune", "--dry-run")
    assert listed.stdout.count("would delete " + CHAPTER + "/lesson-embodiment-hypothesis") == 2
    assert env.ws.run("status", "--json").json["stages"]["personalization"]["stale"] == 2  # a dry run deletes nothing
    pruned = env.ws.run("personalize", "--prune", "--json").json
    assert (pruned["pruned"], len(pruned["variants"])) == (2, 2)
    assert env.ws.run("status", "--json").json["stages"]["personalization"]["stale"] == 0


def test_collect_refuses_batch_and_dry_run_each_alone(env):
    for flag in ("--batch", "--dry-run"):
        refused = _run(env, "--collect", "batch_x", flag, "--json")
        assert refused.code == 2 and refused.json["error"] == "usage_error" and flag in refused.json["message"]
    assert env.llm.calls == []
