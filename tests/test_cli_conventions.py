"""CLI conventions editors and CI expect: -h, completion, --json usage errors, no DB for a missing book,
and a confirmation before `db downgrade base` (the partly-embedded search warning: tests/search/test_coverage_warning.py)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import make_workspace


def test_short_help(workspace) -> None:
    for args in (("-h",), ("check", "-h"), ("db", "-h")):
        result = workspace.run(*args)
        assert result.code == 0 and "Usage:" in result.stdout, args


def test_install_completion(workspace, tmp_path: Path) -> None:
    """Typer detects the shell from the parent process: run it from bash, as a user would."""
    import shlex
    import subprocess

    from tests.conftest import bookctl_executable

    home = tmp_path / "home"
    home.mkdir()
    command = " ".join(shlex.quote(a) for a in [*bookctl_executable(), "--install-completion"]) + "; exit $?"
    env = workspace.subprocess_env() | {"HOME": str(home), "SHELL": "/bin/bash"}
    result = subprocess.run(["bash", "-c", command], env=env, cwd=workspace.root, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "bookctl" in (home / ".bash_completions" / "bookctl.sh").read_text()
    assert "bookctl.sh" in (home / ".bashrc").read_text()


def test_json_usage_errors_are_json_on_stdout(workspace) -> None:
    for args in (("check", "--bogus", "--json"), ("search", "--json"), ("nosuch", "--json"), ("search", "x", "--limit", "many", "--json")):
        result = workspace.run(*args)
        assert result.code == 2, args
        assert result.json["error"] == "usage_error" and result.json["message"], args
        assert "╭" not in result.stdout + result.stderr  # no styled box
    assert "usage_error" not in workspace.run("check", "--bogus").stdout  # without --json: Click's usual message


def test_search_and_status_on_a_missing_book_touch_no_database(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", tmp_path / "nowhere")
    for args in (("search", "robots", "--json"), ("status", "--json"), ("status",)):
        result = ws.run(*args)
        assert result.code == 2, (args, result.stdout, result.stderr)
        assert "no book at" in result.stdout + result.stderr
    assert not (tmp_path / "ws" / ".bookctl").exists()


def test_db_downgrade_base_asks_first(workspace) -> None:
    assert workspace.run("sync").code == 0
    refused = workspace.run("db", "downgrade", "base", "--json")
    assert refused.code == 2 and "--yes" in refused.json["message"]
    assert workspace.run("db", "current", "--json").json["up_to_date"] is True  # nothing dropped
    done = workspace.run("db", "downgrade", "base", "--yes", "--json")
    assert done.code == 0 and done.json["revision"] is None
