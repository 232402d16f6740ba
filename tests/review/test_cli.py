"""`bookctl review --list/--approve/--reject` for scripts and CI, over the same service as the page."""

from __future__ import annotations

from tests.personalization.conftest import BEGINNER, LESSON


def _variant(env):
    env.service.personalize(env.user(BEGINNER), LESSON)
    return env.variants()[0]


def test_list_approve_reject_with_json(env):
    row = _variant(env)
    listed = env.ws.run("review", "--list", "--json")
    assert listed.code == 0, listed.stderr
    assert [v["id"] for v in listed.json["variants"]] == [str(row.id)]
    assert listed.json["variants"][0]["status"] == "unreviewed"
    assert listed.json["backlog"] == {"unreviewed": 1, "rejected": 0, "approved": 0, "stale": 0}

    approved = env.ws.run("review", "--approve", str(row.id), "--as", "ana", "--json")
    assert approved.code == 0, approved.stderr
    assert approved.json["variant"]["status"] == "approved" and approved.json["variant"]["reviewed_by"] == "ana"

    rejected = env.ws.run("review", "--reject", str(row.id), "--note", "too long", "--as", "sam", "--json")
    assert rejected.code == 0 and rejected.json["variant"]["status"] == "rejected"
    assert env.variants()[0].review_note == "too long"
    only_rejected = env.ws.run("review", "--list", "--status", "rejected", "--json").json
    assert len(only_rejected["variants"]) == 1 and only_rejected["backlog"]["rejected"] == 1
    assert env.ws.run("status", "--json").json["stages"]["personalization"]["rejected"] == 1


def test_usage_errors_exit_2(sqlite_env):
    ws = sqlite_env.ws
    for args in (["--reject", "x"], ["--note", "n"], ["--list", "--approve", "x"],
                 ["--approve", "x", "--reject", "y", "--note", "n"], ["--status", "approved"]):
        result = ws.run("review", *args)
        assert result.code == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr
    bad = ws.run("review", "--approve", "not-a-uuid", "--json")
    assert bad.code == 2 and bad.json["error"] == "validation_error"
    unknown = ws.run("review", "--approve", "00000000-0000-0000-0000-000000000001", "--json")
    assert unknown.code == 1 and unknown.json["error"] == "not_found"
