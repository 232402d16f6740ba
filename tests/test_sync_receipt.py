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


def receipts(ws: Workspace) -> list[tuple]:
    """The receipts recorded in the database (sync_state rows with a fingerprint)."""
    engine = make_engine(database_url(ws))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT book_slug, fingerprint, dirty, result FROM sync_state "
                                 "WHERE fingerprint IS NOT NULL")).all()
    engine.dispose()
    return [tuple(row) for row in rows]


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


@pytest.mark.parametrize("change", ["edit-file", "add-file", "row-by-hand", "delete-row", "settings", "dirty",
                                    "other-store"])
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
    elif change == "settings":
        ws.env["BOOKCTL_ROUTE_BASE"] = "/book"
        expect = {"updated": 19}
    elif change == "dirty":  # a sync was killed after it started writing: the next one lists and cleans up
        _execute(ws, "UPDATE sync_state SET dirty = true")
        (objects[0].parent / "stray.md").write_text("orphan")
        expect = {"objects_deleted": 1, "uploaded": 0}
    elif change == "other-store":  # the rows' keys live in another store: list the new one, upload what it lacks
        ws.env["BOOKCTL_STORAGE_URL"] = f"file://{ws.root / 'storage2'}"
        expect = {"uploaded": 19, "repaired": 19, "updated": 0}
    data = sync(ws)
    for key, value in expect.items():
        assert data[key] == value, (key, data)
    check_consistent(database_url(ws), ws.storage)
    assert sync(ws)["updated"] == 0
    assert sync(ws) == {**data, **{k: 0 for k in ("created", "updated", "deleted", "uploaded", "objects_deleted",
                                                   "repaired")}, "unchanged": 34, "plan": [],
                          "changes": [], "moved": [], "removed": []}  # the receipt again


def test_objects_changed_behind_bookctls_back_need_verify(any_workspace: Workspace) -> None:
    """The database is the manifest: a no-op neither lists nor reads the store; --verify does both."""
    ws = any_workspace
    sync(ws)
    objects = sorted(ws.storage.rglob("*.md"))
    objects[0].unlink()
    (objects[1].parent / "stray.md").write_text("orphan")
    assert sync(ws)["uploaded"] == 0
    data = sync(ws, "--verify")
    assert (data["uploaded"], data["repaired"], data["objects_deleted"]) == (1, 1, 1)
    check_consistent(database_url(ws), ws.storage)


def test_dry_run_never_uses_a_receipt(any_workspace: Workspace) -> None:
    ws = any_workspace
    sync(ws)
    sync(ws)
    lesson = ws.book / CH1 / "01-lesson-digital-vs-physical-ai.md"
    lesson.write_bytes(lesson.read_bytes() + b"\nmore\n")
    assert sync(ws, "--dry-run")["uploaded"] == 1


def test_receipt_is_per_database(tmp_path: Path, fixture_book: Path) -> None:
    first = make_workspace(tmp_path / "ws", fixture_book)
    sync(first)
    sync(first)
    other = make_workspace(tmp_path / "ws", fixture_book, f"sqlite:///{tmp_path / 'other.db'}")
    assert other.run("db", "upgrade").code == 0
    data = sync(other)  # same data dir, book and store; a new database: no shortcut
    assert data["created"] == 34


def test_receipt_is_shared_by_machines_syncing_into_one_database(tmp_path: Path, fixture_book: Path) -> None:
    """Two CI runners: their own checkout (path) and data dir, one database and store: the second is a no-op."""
    import shutil

    db = f"sqlite:///{tmp_path / 'shared.db'}"
    first = make_workspace(tmp_path / "runner1", fixture_book, db)
    assert first.run("db", "upgrade").code == 0
    sync(first)
    other_book = tmp_path / "runner2-checkout"
    shutil.copytree(fixture_book, other_book)
    second = make_workspace(tmp_path / "runner2", other_book, db)
    second.env["BOOKCTL_STORAGE_URL"] = first.env["BOOKCTL_STORAGE_URL"]
    import bookctl.curriculum

    saved = bookctl.curriculum.parse_book
    bookctl.curriculum.parse_book = lambda *a, **k: (_ for _ in ()).throw(AssertionError("parsed"))
    try:
        data = sync(second)
    finally:
        bookctl.curriculum.parse_book = saved
    assert (data["uploaded"], data["unchanged"]) == (0, 34)
    assert not (tmp_path / "runner2" / ".bookctl" / "sync-receipts").exists()


def test_a_broken_receipt_is_ignored(workspace: Workspace) -> None:
    sync(workspace)
    _execute(workspace, "UPDATE sync_state SET result = '{not json'")
    assert sync(workspace)["unchanged"] == 34
    assert receipts(workspace)[0][3].startswith("{\"book\"")


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


def _reference_fingerprint(settings) -> str:
    """The fingerprint as first written (os.walk + realpath of every file), kept to check the fast walk against."""
    import hashlib
    import json
    import os

    from bookctl.pipeline.receipt import FORMAT, _fingerprint_bytes

    root = Path(settings.book_dir)
    digest = hashlib.sha256(json.dumps([FORMAT, settings.route_base, settings.book_slug]).encode())
    files = [root / "curriculum.md"] if (root / "curriculum.md").is_file() else []
    for dirpath, dirnames, names in os.walk(root / "docs"):
        dirnames.sort()
        files.extend(Path(dirpath, name) for name in sorted(names))
        files.extend(Path(dirpath, name) for name in dirnames if Path(dirpath, name).is_symlink())
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(_fingerprint_bytes(root, path)).digest())
    return digest.hexdigest()


@pytest.mark.parametrize("docs_link", ["", "inside", "outside"])
def test_fast_fingerprint_equals_the_careful_one(tmp_path: Path, fixture_book: Path, docs_link: str) -> None:
    """Symlinks (in and out of the book, dangling, to folders), a FIFO, nested folders, docs/ itself a link: the
    scandir walk that skips realpath for plain files gives the same fingerprint as realpath on every file, and
    any of those entries changing changes it."""
    import os
    import shutil

    from bookctl.config import load_settings
    from bookctl.pipeline.receipt import fingerprint

    book = tmp_path / "book"
    shutil.copytree(fixture_book, book)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("not the book's\n")
    if docs_link:
        target = book / "real-docs" if docs_link == "inside" else tmp_path / "elsewhere-docs"
        shutil.move(book / "docs", target)
        (book / "docs").symlink_to(target, target_is_directory=True)
    docs = book / "docs"
    chapter = next(p for p in sorted(docs.rglob("*")) if p.is_dir() and not p.is_symlink())
    (chapter / "in.md").symlink_to(next(chapter.glob("*.md")))
    (chapter / "out.md").symlink_to(outside / "secret.md")
    (chapter / "dangling.md").symlink_to(tmp_path / "nowhere.md")
    (chapter / "linked-folder").symlink_to(outside, target_is_directory=True)
    os.mkfifo(chapter / "pipe.md")
    (chapter / "deeper" / "deepest").mkdir(parents=True)
    (chapter / "deeper" / "deepest" / "x.md").write_text("# x\n")
    settings = load_settings().with_book(book)
    assert fingerprint(settings) == _reference_fingerprint(settings)
    seen = {fingerprint(settings)}
    for change in ("out", "dangling", "folder", "deep"):
        if change == "out":
            (outside / "secret.md").write_text("changed outside: not read, so no change\n")
        elif change == "dangling":
            (chapter / "dangling.md").unlink()
            (chapter / "dangling.md").symlink_to(tmp_path / "elsewhere.md")
        elif change == "folder":
            (chapter / "linked-folder").unlink()
            (chapter / "linked-folder").symlink_to(tmp_path, target_is_directory=True)
        else:
            (chapter / "deeper" / "deepest" / "x.md").write_text("# y\n")
        now = fingerprint(settings)
        assert now == _reference_fingerprint(settings), change
        # never read: a file outside the book, and every file when docs/ itself leads out (the parser refuses that)
        unread = {"out"} | ({"deep"} if docs_link == "outside" else set())
        assert (now in seen) == (change in unread), change
        seen.add(now)
