"""A store that fails (here: a file standing where a folder must be, which stops even root) gets a clear
message; nothing is half-written in the database, and the next run converges to a clean sync."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import Workspace, make_workspace
from tests.syncutil import check_consistent, database_url, dump_lessons, dump_store, dump_tables

CHAPTER2 = "books/physical-ai-humanoid-robotics/parts/01-Physical-AI-Foundations/chapters/02-sensors-actuators-humanoid-body"


def test_sync_with_a_failing_store_writes_no_rows_and_the_rerun_converges(any_workspace: Workspace, tmp_path: Path,
                                                                          fixture_book: Path) -> None:
    ws = any_workspace
    blocker = ws.storage / CHAPTER2
    blocker.parent.mkdir(parents=True)
    blocker.write_text("not a folder")  # chapter 1's uploads succeed, chapter 2's fail part-way through
    before = dump_tables(database_url(ws))

    failed = ws.run("sync", "--json")

    assert failed.code == 1
    assert failed.json["error"] == "storage_unavailable"
    assert "cannot write" in failed.stderr and "Traceback" not in failed.stderr
    after = dump_tables(database_url(ws))
    assert after.pop("sync_state") != before.pop("sync_state")  # only the mark of a sync that did not finish
    assert after == before  # the transaction never ran: no row points at a missing object

    blocker.unlink()
    assert ws.run("sync").code == 0
    check_consistent(database_url(ws), ws.storage)
    clean = make_workspace(tmp_path / "clean", fixture_book)
    assert clean.run("sync").code == 0
    assert dump_lessons(database_url(ws)) == dump_lessons(database_url(clean))
    assert dump_store(ws.storage) == dump_store(clean.storage)


def test_content_api_answers_503_when_the_store_cannot_be_read(workspace: Workspace) -> None:
    from litestar.testing import TestClient

    from bookctl.api.app import create_app
    from bookctl.config import load_settings
    from bookctl.runtime import Runtime

    assert workspace.run("sync").code == 0
    lesson = "what-is-physical-ai/lesson-embodiment-hypothesis"
    obj = next(p for p in workspace.storage.rglob("lesson-embodiment-hypothesis.*.md"))
    obj.unlink()
    obj.mkdir()  # reading it now fails with an OS error, as an unreachable mount would
    runtime = Runtime.open(load_settings({**workspace.env, "BOOKCTL_SECRET_KEY": "k" * 40}))
    try:
        with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
            response = client.get(f"/api/content/lessons/{lesson}/content")
            assert response.status_code == 503
            assert response.json()["error"] == "storage_unavailable"
            assert set(response.json()) == {"error", "message", "detail"}
            assert client.get(f"/api/content/lessons/{lesson}").status_code == 200  # metadata still served
    finally:
        runtime.close()
        shutil.rmtree(obj)
