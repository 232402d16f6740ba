"""`bookctl sync` on SQLite and PostgreSQL: incremental, removes what disappeared, never touches learner data."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bookctl.db import models as m
from bookctl.db.engine import make_engine
from tests.conftest import Workspace, make_workspace
from tests.syncutil import add_learner, check_consistent, database_url, dump_lessons, dump_store, dump_tables

CH1 = "docs/01-Physical-AI-Foundations/01-what-is-physical-ai"
BOOK = "physical-ai-humanoid-robotics"
SYNC_KEYS = {"book", "parts", "chapters", "lessons", "planned", "created", "updated", "unchanged", "deleted", "uploaded"}


def sync(ws: Workspace, *args: str) -> dict:
    result = ws.run("sync", "--json", *args)
    assert result.code == 0, result.stderr
    return result.json


def lesson_id(ws: Workspace, slug: str):
    engine = make_engine(database_url(ws))
    with Session(engine) as session:
        found = session.scalar(select(m.Lesson.id).where(m.Lesson.slug == slug))
    engine.dispose()
    return found


def snapshot(ws: Workspace) -> tuple[dict, dict]:
    return dump_tables(database_url(ws)), dump_store(ws.storage)


def test_first_sync_of_the_fixture_book(any_workspace: Workspace) -> None:
    ws = any_workspace
    data = sync(ws)
    assert SYNC_KEYS <= set(data)
    assert (data["book"], data["parts"], data["chapters"], data["lessons"], data["planned"]) == (BOOK, 6, 18, 34, 15)
    assert (data["created"], data["updated"], data["unchanged"], data["deleted"], data["uploaded"]) == (34, 0, 0, 0, 19)
    url = database_url(ws)
    lessons = dump_lessons(url)
    written = [r for r in lessons if r["status"] == "written"]
    assert len(written) == 19
    objects = dump_store(ws.storage)
    for row in written:  # every written lesson's body is in the store, byte for byte
        assert objects[row["bucket_path"]] == (ws.book / row["source_path"]).read_bytes()
    assert all(r["bucket_path"] is None and r["content_hash"] is None for r in lessons if r["status"] == "planned")
    digest = next(r["content_hash"] for r in written if r["slug"] == "what-is-physical-ai/lesson-digital-vs-physical-ai")
    assert (f"books/{BOOK}/parts/01-Physical-AI-Foundations/chapters/01-what-is-physical-ai/lessons/"
            f"lesson-digital-vs-physical-ai.{digest[:16]}.md") in objects  # readable path, content hash in the name
    check_consistent(url, ws.storage)
    engine = make_engine(url)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(m.Part)) == 6
        assert session.scalar(select(func.count()).select_from(m.Chapter)) == 18
        part2 = session.scalar(select(m.Part).where(m.Part.number == 2))
        assert (part2.layer, part2.tier, part2.week_start, part2.week_end) == ("L2-L3", "B1", 3, 5)
    engine.dispose()


def test_second_sync_does_nothing_and_one_edit_uploads_one(any_workspace: Workspace) -> None:
    ws = any_workspace
    sync(ws)
    before = snapshot(ws)
    again = sync(ws)
    assert (again["uploaded"], again["created"], again["updated"], again["deleted"]) == (0, 0, 0, 0)
    assert again["unchanged"] == again["lessons"] == 34
    assert snapshot(ws) == before  # not even an updated_at moved
    lesson = ws.book / CH1 / "02-lesson-embodiment-hypothesis.md"
    lesson.write_bytes(lesson.read_bytes() + b"\nOne more paragraph.\n")
    edited = sync(ws)
    assert (edited["uploaded"], edited["updated"], edited["unchanged"], edited["created"]) == (1, 1, 33, 0)
    digest = hashlib.sha256(lesson.read_bytes()).hexdigest()
    key = (f"books/{BOOK}/parts/01-Physical-AI-Foundations/chapters/01-what-is-physical-ai/lessons/"
           f"lesson-embodiment-hypothesis.{digest[:16]}.md")
    assert (ws.storage / key).read_bytes() == lesson.read_bytes()
    assert edited["objects_deleted"] == 1  # the old version, after the commit: objects are never overwritten
    check_consistent(database_url(ws), ws.storage)


def test_front_matter_only_change_updates_the_row(any_workspace: Workspace) -> None:
    ws = any_workspace
    sync(ws)
    lesson = ws.book / CH1 / "03-lesson-real-world-constraints.md"
    lesson.write_text(lesson.read_text().replace('title: "Real-World Constraints"', 'title: "Constraints"\ntags: [safety]'))
    data = sync(ws)
    assert (data["updated"], data["uploaded"]) == (1, 1)
    row = next(r for r in dump_lessons(database_url(ws)) if r["slug"] == "what-is-physical-ai/lesson-real-world-constraints")
    assert (row["title"], row["tags"]) == ("Constraints", ["safety"])


def test_unwritten_lesson_keeps_its_row_and_progress_as_planned(any_workspace: Workspace) -> None:
    ws = any_workspace
    sync(ws)
    url = database_url(ws)
    lab_id = lesson_id(ws, "what-is-physical-ai/lab")
    add_learner(url, "what-is-physical-ai/lab")
    progress_before = dump_tables(url)["user_progress"]
    lab = ws.book / CH1 / "04-lab.md"
    body = lab.read_bytes()
    lab.unlink()
    data = sync(ws)
    # the outline's topic "Lab: Try With AI exercises" is planned again: the same row, renamed; its object goes
    assert (data["deleted"], data["created"], data["updated"], data["uploaded"]) == (0, 0, 1, 0)
    rows = {r["slug"]: r for r in dump_lessons(url)}
    assert "what-is-physical-ai/lab" not in rows
    planned = rows["what-is-physical-ai/lab-try-with-ai-exercises"]
    assert (planned["status"], planned["bucket_path"]) == ("planned", None)
    assert lesson_id(ws, "what-is-physical-ai/lab-try-with-ai-exercises") == lab_id
    assert not any("/01-what-is-physical-ai/lessons/lab." in k for k in dump_store(ws.storage))
    assert dump_tables(url)["user_progress"] == progress_before
    check_consistent(url, ws.storage)
    # written again: still the same row, the progress still on it
    lab.write_bytes(body)
    data = sync(ws)
    assert (data["deleted"], data["created"], data["uploaded"]) == (0, 0, 1)
    assert {r["slug"]: r for r in dump_lessons(url)}["what-is-physical-ai/lab"]["status"] == "written"
    assert lesson_id(ws, "what-is-physical-ai/lab") == lab_id
    assert dump_tables(url)["user_progress"] == progress_before
    check_consistent(url, ws.storage)


def test_page_the_outline_does_not_list_is_deleted_with_its_object(any_workspace: Workspace) -> None:
    ws = any_workspace
    sync(ws)
    (ws.book / "docs/course-overview/index.md").unlink()
    data = sync(ws)
    assert data["deleted"] == 1
    assert "course-overview/index" not in {r["slug"] for r in dump_lessons(database_url(ws))}
    assert not any("course-overview" in k for k in dump_store(ws.storage))
    check_consistent(database_url(ws), ws.storage)


def test_writing_a_planned_lesson_keeps_its_row(any_workspace: Workspace) -> None:
    ws = any_workspace
    sync(ws)

    planned_id = lesson_id(ws, "ros2-architecture/nodes-topics-services-and-actions")
    chapter4 = ws.book / "docs/02-ROS2-Fundamentals/04-ros2-architecture"
    chapter4.mkdir(parents=True)  # Part 2 is now being written, chapter by chapter (chapters 5-7 stay planned)
    (chapter4 / "01-lesson-nodes-topics.md").write_text(
        "---\ntitle: Nodes, Topics, Services and Actions\nsidebar_position: 1\n---\n\n# Nodes\n\nA node is a process.\n",
        encoding="utf-8")
    data = sync(ws)
    assert (data["created"], data["deleted"], data["updated"], data["uploaded"]) == (0, 0, 1, 1)
    rows = {r["slug"]: r for r in dump_lessons(database_url(ws))}
    written = rows["ros2-architecture/lesson-nodes-topics"]
    assert "ros2-architecture/nodes-topics-services-and-actions" not in rows
    assert written["status"] == "written" and lesson_id(ws, "ros2-architecture/lesson-nodes-topics") == planned_id
    assert written["route"] == "/docs/ROS2-Fundamentals/ros2-architecture/lesson-nodes-topics"
    assert rows["ros2-packages-with-python/building-ros-2-packages-with-rclpy"]["status"] == "planned"
    check_consistent(database_url(ws), ws.storage)


def test_lesson_with_progress_is_retired_not_deleted(any_workspace: Workspace) -> None:
    ws = any_workspace
    sync(ws)
    url = database_url(ws)
    user_id = add_learner(url, "course-overview/index")
    learner_before = {t: rows for t, rows in dump_tables(url).items() if t in ("users", "user_preferences", "user_progress")}
    shutil.rmtree(ws.book / "docs/course-overview")
    data = sync(ws)
    assert data["deleted"] == 1
    row = next(r for r in dump_lessons(url) if r["slug"] == "course-overview/index")
    assert row["removed"] and row["bucket_path"] is None and row["route"] is None
    assert not any("course-overview" in k for k in dump_store(ws.storage))
    learner_after = {t: rows for t, rows in dump_tables(url).items() if t in ("users", "user_preferences", "user_progress")}
    assert learner_after == learner_before
    assert len(learner_after["users"]) == 1 and len(learner_after["user_preferences"]) == 1
    assert len(learner_after["user_progress"]) == 1 and user_id is not None
    check_consistent(url, ws.storage)
    assert sync(ws)["deleted"] == 0  # retired stays retired; not counted again
    # the page comes back: the same row is revived, progress still attached
    shutil.copytree(Path(__file__).resolve().parents[2] / "shared/fixtures/robotics-book/docs/course-overview",
                    ws.book / "docs/course-overview")
    data = sync(ws)
    assert (data["created"], data["uploaded"]) == (0, 1)
    row = next(r for r in dump_lessons(url) if r["slug"] == "course-overview/index")
    assert not row["removed"] and row["bucket_path"]
    assert dump_tables(url)["user_progress"] == learner_before["user_progress"]


def test_dry_run_writes_nothing(any_workspace: Workspace) -> None:
    ws = any_workspace
    before = snapshot(ws)
    data = sync(ws, "--dry-run")
    assert data["dry_run"] is True
    assert (data["created"], data["uploaded"]) == (34, 19)
    assert len([p for p in data["plan"] if p["action"] == "upload"]) == 19
    assert snapshot(ws) == before
    sync(ws)
    (ws.book / CH1 / "01-lesson-digital-vs-physical-ai.md").write_text("---\ntitle: New\n---\nnew\n")
    (ws.book / "docs/course-overview/index.md").unlink()
    before = snapshot(ws)
    data = sync(ws, "--dry-run")
    assert (data["uploaded"], data["updated"], data["deleted"]) == (1, 1, 1)
    assert {(p["action"], p["slug"]) for p in data["plan"]} == {
        ("upload", "what-is-physical-ai/lesson-digital-vs-physical-ai"), ("remove", "course-overview/index")}
    assert snapshot(ws) == before
    text = ws.run("sync", "--dry-run")
    assert text.code == 0 and "would upload what-is-physical-ai/lesson-digital-vs-physical-ai" in text.stdout
    assert snapshot(ws) == before


def test_broken_book_changes_nothing(any_workspace: Workspace) -> None:
    ws = any_workspace
    sync(ws)
    before = snapshot(ws)
    (ws.book / CH1 / "01-lesson-digital-vs-physical-ai.md").write_text("---\ntitle: [unclosed\n---\n")
    (ws.book / CH1 / "02-lesson-embodiment-hypothesis.md").write_text("changed but valid\n# T\n")
    (ws.book / "docs/course-overview/index.md").unlink()
    result = ws.run("sync", "--json")
    assert result.code == 1
    assert result.json["error"] == "content_error"
    assert f"{CH1}/01-lesson-digital-vs-physical-ai.md:3: error: front matter is not valid YAML" in result.stderr
    assert snapshot(ws) == before


def test_verify_uploads_missing_and_corrupted_objects_again(any_workspace: Workspace) -> None:
    ws = any_workspace
    sync(ws)
    objects = sorted(p for p in ws.storage.rglob("*.md"))
    objects[0].unlink()
    objects[5].unlink()
    objects[7].write_bytes(b"tampered")
    status = ws.run("status", "--json").json["objects"]
    assert (status["missing"], status["orphans"]) == (2, 0)  # a listing; hashes are --verify's job
    assert sync(ws)["uploaded"] == 0  # the database is the manifest: a plain sync does not list the store
    data = sync(ws, "--verify")
    assert (data["uploaded"], data["repaired"], data["unchanged"]) == (3, 3, 34)
    check_consistent(database_url(ws), ws.storage)
    assert ws.run("status", "--json").json["objects"]["missing"] == 0


def test_orphan_objects_are_swept(any_workspace: Workspace) -> None:
    ws = any_workspace
    sync(ws)
    orphan = ws.storage / f"books/{BOOK}/parts/old/chapters/gone/lessons/x.md"
    orphan.parent.mkdir(parents=True)
    orphan.write_text("left over")
    tmp = ws.storage / f"books/{BOOK}/pages/.tmp-crashed"
    tmp.write_text("half")
    other_book = ws.storage / "books/another-book/pages/intro.md"
    other_book.parent.mkdir(parents=True)
    other_book.write_text("not ours")
    assert sync(ws)["objects_deleted"] == 0  # a no-op never lists the store
    assert ws.run("status", "--json").json["objects"]["orphans"] == 1
    data = sync(ws, "--verify")
    assert data["uploaded"] == 0 and data["objects_deleted"] == 1
    assert not orphan.exists() and not tmp.exists()
    assert other_book.exists()  # another book's objects are none of this sync's business
    other_book.unlink()
    check_consistent(database_url(ws), ws.storage)


def test_unmigrated_database_is_refused(tmp_path: Path, fixture_book: Path, db_url: str) -> None:
    ws = make_workspace(tmp_path / "ws", fixture_book, db_url)
    for command in (["sync"], ["sync", "--json"], ["status"]):
        result = ws.run(*command)
        assert result.code == 2, result
        assert "bookctl db upgrade" in result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert dump_store(ws.storage) == {}


def test_embedded_default_is_created_on_first_use(workspace: Workspace) -> None:
    assert not (workspace.root / ".bookctl").exists()
    data = sync(workspace)
    assert data["uploaded"] == 19
    assert (Path(workspace.env["BOOKCTL_DATA_DIR"]) / "bookctl.db").is_file()
    status = workspace.run("status", "--json")
    assert status.code == 0
    assert status.json["database"] == {"parts": 6, "chapters": 18, "lessons": 34, "written": 19, "planned": 15}
    assert status.json["stale"]["changed"] == 0 and status.json["synced"] == 19


def test_status_reports_stale_lessons(any_workspace: Workspace) -> None:
    ws = any_workspace
    sync(ws)
    (ws.book / CH1 / "01-lesson-digital-vs-physical-ai.md").write_text("---\ntitle: New\n---\nnew\n")
    (ws.book / CH1 / "05-new.md").write_text("---\ntitle: Newer\n---\nnew\n")
    (ws.book / "docs/course-overview/index.md").unlink()
    data = ws.run("status", "--json").json
    assert (data["stale"]["changed"], data["stale"]["new"], data["stale"]["removed"]) == (1, 1, 1)
    assert data["synced"] == 18


def test_sample_book_syncs_and_resyncs(tmp_path: Path, sample_book: Path) -> None:
    ws = make_workspace(tmp_path / "ws", sample_book)
    first = sync(ws)
    assert first["parts"] >= 2 and first["chapters"] >= 4 and first["planned"] >= 1 and first["uploaded"] >= 10
    again = sync(ws)
    assert again["uploaded"] == 0 and again["unchanged"] == again["lessons"]
    check_consistent(database_url(ws), ws.storage)
