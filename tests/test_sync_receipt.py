"""Sync receipts: a proven no-op skips parsing and the ORM, and anything that differs falls through to a full sync."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from bookctl.db.engine import make_engine
from tests.conftest import Workspace, make_workspace
from tests.syncutil import check_consistent, database_url

CH1 = "docs/01-Physical-AI-Foundations/01-what-is-physical-ai"


def sync(ws: Workspace, *args: str) -> dict:
    result = ws.run("sync", "--json", *args)
    assert result.code == 0, result.stderr
    return result.json


def receipts(ws: Workspace) -> list[Path]:
    return sorted((Path(ws.env["BOOKCTL_DATA_DIR"]) / "sync-receipts").glob("*.json"))


def test_noop_answered_from_the_receipt_matches_a_full_noop(any_workspace: Workspace, monkeypatch) -> None:
    ws = any_workspace
    sync(ws)
    assert len(receipts(ws)) == 1
    full_noop = sync(ws)  # refreshes the receipt after the first sync's writes
    import bookctl.curriculum

    monkeypatch.setattr(bookctl.curriculum, "parse_book", lambda *a, **k: (_ for _ in ()).throw(AssertionError("parsed")))
    fast = sync(ws)
    assert fast == full_noop
    assert fast["uploaded"] == 0 and fast["unchanged"] == 34 and fast["warnings"]  # the info lines are kept


def _execute(ws: Workspace, sql: str) -> None:
    engine = make_engine(database_url(ws))
    with engine.begin() as conn:
        conn.execute(text(sql))
    engine.dispose()


@pytest.mark.parametrize("change", ["edit-file", "add-file", "row-by-hand", "delete-row", "object-deleted",
                                    "orphan-object", "settings"])
def test_anything_different_falls_through_to_a_full_sync(any_workspace: Workspace, change: str) -> None:
    ws = any_workspace
    sync(ws)
    sync(ws)
    objects = sorted(ws.storage.rglob("*.md"))
    expect: dict[str, int] = {}
    if change == "edit-file":
        lesson = ws.book / CH1 / "01-lesson-digital-vs-physical-ai.md"
        lesson.write_bytes(lesson.read_bytes().replace(b"Physical", b"Embodied", 1))
        expect = {"uploaded": 1, "updated": 1}
    elif change == "add-file":
        (ws.book / CH1 / "_draft.md").write_text("ignored by Docusaurus, but an input all the same\n")
        expect = {"uploaded": 0, "updated": 0}
    elif change == "row-by-hand":
        _execute(ws, "UPDATE lessons SET title = 'vandalised' WHERE slug = 'intro'")
        expect = {"updated": 1}
    elif change == "delete-row":
        _execute(ws, "DELETE FROM lessons WHERE slug = 'what-is-physical-ai/lab'")
        expect = {"created": 1, "uploaded": 1}
    elif change == "object-deleted":
        objects[0].unlink()
        expect = {"uploaded": 1}
    elif change == "orphan-object":
        (objects[0].parent / "stray.md").write_text("orphan")
        expect = {"objects_deleted": 1}
    elif change == "settings":
        ws.env["BOOKCTL_ROUTE_BASE"] = "/book"
        expect = {"updated": 19}
    data = sync(ws)
    for key, value in expect.items():
        assert data[key] == value, (key, data)
    check_consistent(database_url(ws), ws.storage)
    assert sync(ws)["updated"] == 0


def test_dry_run_never_uses_a_receipt(any_workspace: Workspace) -> None:
    ws = any_workspace
    sync(ws)
    sync(ws)
    next(ws.storage.rglob("*.md")).unlink()
    assert sync(ws, "--dry-run")["uploaded"] == 1


def test_receipt_is_per_database(tmp_path: Path, fixture_book: Path) -> None:
    first = make_workspace(tmp_path / "ws", fixture_book)
    sync(first)
    sync(first)
    other = make_workspace(tmp_path / "ws", fixture_book, f"sqlite:///{tmp_path / 'other.db'}")
    assert other.run("db", "upgrade").code == 0
    data = sync(other)  # same data dir, book and store; a new database: no shortcut
    assert data["created"] == 34


def test_a_broken_receipt_is_ignored(workspace: Workspace) -> None:
    sync(workspace)
    receipts(workspace)[0].write_text("{not json")
    assert sync(workspace)["unchanged"] == 34
    assert receipts(workspace)[0].read_text().startswith("{\"fingerprint\"")


def test_quick_path_accepts_the_usual_spellings(workspace: Workspace) -> None:
    sync(workspace)
    sync(workspace)
    book = str(workspace.book)
    for args in (["sync", "--json", f"--book={book}"], ["sync", "--book", book, "--json"]):
        result = workspace.run(*args)
        assert result.code == 0 and result.json["unchanged"] == 34 and result.json["uploaded"] == 0
    text = workspace.run("sync", "--book", book)
    assert text.code == 0 and "unchanged 34" in text.stdout and "uploaded 0" in text.stdout
    bad = workspace.run("sync", "--json", BOOKCTL_LOCK_TIMEOUT="never")
    assert bad.code == 2 and "BOOKCTL_LOCK_TIMEOUT" in bad.stderr
    assert workspace.run("sync", "--bogus").code == 2  # anything unknown still goes to Typer's usage error


def test_an_unwritable_receipt_never_fails_the_sync(workspace: Workspace) -> None:
    data_dir = Path(workspace.env["BOOKCTL_DATA_DIR"])
    data_dir.mkdir(parents=True)
    (data_dir / "sync-receipts").write_text("a file where the folder should be")
    assert sync(workspace)["uploaded"] == 19
    assert sync(workspace)["unchanged"] == 34
