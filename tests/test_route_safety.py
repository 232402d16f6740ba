"""Lesson identity across edits (issue 11 item 1) and route safety (issue 16): moved, removed, --fail-on,
the route history behind `bookctl redirects`. SQLite and PostgreSQL."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from bookctl.db import models as m
from bookctl.db.engine import make_engine
from tests.conftest import Workspace
from tests.syncutil import add_learner, check_consistent, database_url, dump_store, dump_tables

CH1 = "docs/01-Physical-AI-Foundations/01-what-is-physical-ai"
CH2 = "docs/01-Physical-AI-Foundations/02-sensors-actuators-humanoid-body"
EMBODIMENT = f"{CH1}/02-lesson-embodiment-hypothesis.md"
CONSTRAINTS = f"{CH1}/03-lesson-real-world-constraints.md"
SLUG = "what-is-physical-ai/lesson-embodiment-hypothesis"
ROUTE = "/docs/Physical-AI-Foundations/what-is-physical-ai/lesson-embodiment-hypothesis"


def sync(ws: Workspace, *args: str) -> dict:
    result = ws.run("sync", "--json", *args)
    assert result.code == 0, result.stderr
    return result.json


def set_front(ws: Workspace, rel: str, **fields: str) -> None:
    """Add (or replace) front-matter keys of one lesson file."""
    path = ws.book / rel
    head, sep, rest = path.read_text(encoding="utf-8").partition("\n---\n")
    lines = [line for line in head.splitlines() if line.split(":", 1)[0] not in fields]
    lines += [f"{key}: {value}" for key, value in fields.items()]
    path.write_text("\n".join(lines) + sep + rest, encoding="utf-8")


def rename(ws: Workspace, old: str, new: str) -> None:
    (ws.book / old).rename(ws.book / new)


def lessons(ws: Workspace) -> dict[str, m.Lesson]:
    engine = make_engine(database_url(ws))
    with Session(engine, expire_on_commit=False) as session:
        rows = {row.slug: row for row in session.scalars(select(m.Lesson))}
    engine.dispose()
    return rows


def progress(ws: Workspace) -> dict:
    engine = make_engine(database_url(ws))
    with Session(engine) as session:
        found = {(str(p.user_id), str(p.lesson_id)): p.time_spent_seconds for p in session.scalars(select(m.UserProgress))}
    engine.dispose()
    return found


def redirects(ws: Workspace, fmt: str = "json") -> dict:
    result = ws.run("redirects", "--format", fmt)
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


# ---------------------------------------------------------------- identity (issue 11 item 1)

def test_adding_an_id_keeps_the_row_and_progress(any_workspace: Workspace) -> None:
    ws = any_workspace
    sync(ws)
    before = lessons(ws)[SLUG]
    add_learner(database_url(ws), SLUG)
    held = progress(ws)
    set_front(ws, EMBODIMENT, id="embodiment")
    data = sync(ws)  # before: IntegrityError UNIQUE (book_id, route)
    after = lessons(ws)
    assert SLUG not in after
    row = after["what-is-physical-ai/embodiment"]
    # Docusaurus serves a doc at its id (issue 13), so the URL moves with it; the lesson keeps its row
    id_route = "/docs/Physical-AI-Foundations/what-is-physical-ai/embodiment"
    assert row.id == before.id and row.route == id_route
    assert progress(ws) == held
    assert (data["created"], data["deleted"], data["removed"]) == (0, 0, [])
    assert [(x["old_route"], x["new_route"]) for x in data["moved"]] == [(ROUTE, id_route)]
    check_consistent(database_url(ws), ws.storage)


def test_renaming_a_file_that_keeps_its_slug(any_workspace: Workspace) -> None:
    ws = any_workspace
    set_front(ws, EMBODIMENT, slug="lesson-embodiment-hypothesis")
    sync(ws)
    before = lessons(ws)[SLUG]
    rename(ws, EMBODIMENT, f"{CH1}/02-lesson-embodied-intelligence.md")
    data = sync(ws)
    row = lessons(ws)["what-is-physical-ai/lesson-embodied-intelligence"]
    assert (row.id, row.route) == (before.id, ROUTE)
    assert row.source_path == f"{CH1}/02-lesson-embodied-intelligence.md"
    assert (data["moved"], data["removed"], data["created"], data["deleted"]) == ([], [], 0, 0)
    check_consistent(database_url(ws), ws.storage)


def test_swapping_the_routes_of_two_lessons(any_workspace: Workspace) -> None:
    ws = any_workspace
    set_front(ws, EMBODIMENT, slug="/first")
    set_front(ws, CONSTRAINTS, slug="/second")
    sync(ws)
    before = lessons(ws)
    set_front(ws, EMBODIMENT, slug="/second")
    set_front(ws, CONSTRAINTS, slug="/first")
    assert ws.run("check").code == 0
    data = sync(ws)  # one transaction; today: IntegrityError
    after = lessons(ws)
    constraints = "what-is-physical-ai/lesson-real-world-constraints"
    assert (after[SLUG].id, after[SLUG].route) == (before[SLUG].id, "/docs/second")
    assert (after[constraints].id, after[constraints].route) == (before[constraints].id, "/docs/first")
    assert sorted((x["old_route"], x["new_route"]) for x in data["moved"]) == [
        ("/docs/first", "/docs/second"), ("/docs/second", "/docs/first")]
    assert data["removed"] == []
    assert redirects(ws)["redirects"] == []  # both old URLs still answer (with the other lesson)


def test_swapping_file_names_that_keep_their_slugs(any_workspace: Workspace) -> None:
    """Both files renamed into each other's names while `slug:` keeps each URL: rows follow the routes."""
    ws = any_workspace
    set_front(ws, EMBODIMENT, slug="/first")
    set_front(ws, CONSTRAINTS, slug="/second")
    sync(ws)
    before = {row.route: row.id for row in lessons(ws).values() if row.route in ("/docs/first", "/docs/second")}
    tmp = f"{CH1}/tmp.md"
    rename(ws, EMBODIMENT, tmp)
    rename(ws, CONSTRAINTS, f"{CH1}/02-lesson-swapped-a.md")
    rename(ws, tmp, f"{CH1}/03-lesson-swapped-b.md")
    data = sync(ws)
    after = {row.route: row.id for row in lessons(ws).values() if row.route in ("/docs/first", "/docs/second")}
    assert after == before
    assert (data["moved"], data["removed"], data["created"], data["deleted"]) == ([], [], 0, 0)


def test_two_files_exchanging_names_keep_their_rows_and_progress(any_workspace: Workspace) -> None:
    """Each body is unchanged but now at the other's slug (and URL): the lessons swapped URLs, not text.

    Before: the rows stayed with the slugs, so the learner's progress on "The Embodiment Hypothesis" showed on
    "Real-World Constraints", and no URL was reported moved although each lesson's URL changed."""
    ws = any_workspace
    sync(ws)
    before = lessons(ws)
    constraints = "what-is-physical-ai/lesson-real-world-constraints"
    add_learner(database_url(ws), SLUG)
    held = progress(ws)
    tmp = f"{CH1}/tmp.md"
    rename(ws, EMBODIMENT, tmp)
    rename(ws, CONSTRAINTS, EMBODIMENT)
    rename(ws, tmp, CONSTRAINTS)
    data = sync(ws)
    after = lessons(ws)
    assert (after[constraints].id, after[constraints].title) == (before[SLUG].id, "The Embodiment Hypothesis")
    assert (after[SLUG].id, after[SLUG].title) == (before[constraints].id, "Real-World Constraints")
    assert progress(ws) == held  # still on the Embodiment lesson's row
    constraints_route = before[constraints].route
    assert sorted((x["old_route"], x["new_route"]) for x in data["moved"]) == sorted(
        [(ROUTE, constraints_route), (constraints_route, ROUTE)])
    assert (data["created"], data["deleted"], data["removed"]) == (0, 0, [])
    assert redirects(ws)["redirects"] == []  # both URLs still answer
    check_consistent(database_url(ws), ws.storage)
    again = sync(ws)
    assert (again["created"], again["updated"], again["moved"]) == (0, 0, [])


def test_files_exchanging_places_across_chapters_keep_their_rows_with_an_id(any_workspace: Workspace) -> None:
    """One file carries `id:`; the two files exchange paths across chapters, so both slugs are new. Rule 1
    (same file) paired each row with the other lesson's body; exact bodies win now (rule 3)."""
    ws = any_workspace
    set_front(ws, EMBODIMENT, id="embodiment")
    sync(ws)
    other = f"{CH2}/02-lesson-actuators-motors.md"
    before = lessons(ws)
    embodiment = before["what-is-physical-ai/embodiment"]
    actuators = before["sensors-actuators-humanoid-body/lesson-actuators-motors"]
    tmp = f"{CH1}/tmp.md"
    rename(ws, EMBODIMENT, tmp)
    rename(ws, other, EMBODIMENT)
    rename(ws, tmp, other)
    data = sync(ws)
    after = {row.id: row for row in lessons(ws).values()}
    assert after[embodiment.id].slug == "sensors-actuators-humanoid-body/embodiment"
    assert after[embodiment.id].source_path == other
    assert after[actuators.id].source_path == EMBODIMENT
    assert (data["created"], data["deleted"]) == (0, 0)
    check_consistent(database_url(ws), ws.storage)


def test_a_copied_and_rewritten_lesson_keeps_its_row(any_workspace: Workspace) -> None:
    """Not an exchange: the old text copied to a new file, the original rewritten in place. The slug that
    stayed keeps its row (rule 0 needs a closed cycle); the copy is a new lesson."""
    ws = any_workspace
    sync(ws)
    before = lessons(ws)[SLUG]
    original = (ws.book / EMBODIMENT).read_text(encoding="utf-8")
    (ws.book / f"{CH1}/05-lesson-embodiment-archive.md").write_text(original, encoding="utf-8")
    (ws.book / EMBODIMENT).write_text(original + "\nRewritten.\n", encoding="utf-8")
    data = sync(ws)
    after = lessons(ws)
    assert after[SLUG].id == before.id
    assert after["what-is-physical-ai/lesson-embodiment-archive"].id != before.id
    assert (data["created"], data["moved"]) == (1, [])


def test_a_true_conflict_is_reported_by_check_with_file_and_line(any_workspace: Workspace) -> None:
    ws = any_workspace
    sync(ws)
    set_front(ws, CONSTRAINTS, slug="lesson-embodiment-hypothesis")
    before = dump_tables(database_url(ws)), dump_store(ws.storage)
    result = ws.run("check")
    assert result.code == 1
    assert f"{CONSTRAINTS}:1: error: duplicate route {ROUTE!r}" in result.stdout
    failed = ws.run("sync")
    assert failed.code == 1 and "Traceback" not in failed.stderr and "duplicate route" in failed.stderr
    assert (dump_tables(database_url(ws)), dump_store(ws.storage)) == before


def test_a_lesson_taking_over_a_deleted_lessons_url(any_workspace: Workspace) -> None:
    ws = any_workspace
    extra = ws.book / CH1 / "05-extra-reading.md"
    extra.write_text("---\ntitle: Extra reading\n---\n\nSomething to read.\n", encoding="utf-8")
    sync(ws)
    before = lessons(ws)[SLUG]
    extra.unlink()  # not in the outline: its row is deleted
    set_front(ws, EMBODIMENT, slug="extra-reading")
    data = sync(ws)  # the UPDATE of one row must not run before the DELETE of the other
    row = lessons(ws)[SLUG]
    assert (row.id, row.route) == (before.id, ROUTE.rsplit("/", 1)[0] + "/extra-reading")
    assert data["deleted"] == 1 and data["removed"] == []  # the URL still answers
    assert [(x["old_route"], x["new_route"]) for x in data["moved"]] == [(ROUTE, row.route)]
    assert "what-is-physical-ai/extra-reading" not in lessons(ws)
    check_consistent(database_url(ws), ws.storage)


# ---------------------------------------------------------------- moved and removed (issue 16)

def test_renamed_file_keeping_its_front_matter_id_keeps_its_url(any_workspace: Workspace) -> None:
    ws = any_workspace
    set_front(ws, EMBODIMENT, id="embodiment")
    sync(ws)
    before = lessons(ws)["what-is-physical-ai/embodiment"]
    add_learner(database_url(ws), "what-is-physical-ai/embodiment")
    held = progress(ws)
    rename(ws, EMBODIMENT, f"{CH1}/02-embodied-intelligence.md")
    plan = sync(ws, "--dry-run")
    # the doc id names the URL (Docusaurus), so a renamed file that keeps its id keeps its URL: nothing moves
    id_route = "/docs/Physical-AI-Foundations/what-is-physical-ai/embodiment"
    assert before.route == id_route
    assert (plan["moved"], plan["removed"]) == ([], [])
    sync(ws)
    row = lessons(ws)["what-is-physical-ai/embodiment"]
    assert (row.id, row.route) == (before.id, id_route)
    assert row.source_path == f"{CH1}/02-embodied-intelligence.md"
    assert progress(ws) == held


def test_changed_slug_is_moved(any_workspace: Workspace) -> None:
    ws = any_workspace
    sync(ws)
    set_front(ws, EMBODIMENT, slug="/embodiment")
    data = sync(ws)
    assert [(x["slug"], x["old_route"], x["new_route"], x["source"]) for x in data["moved"]] == [
        (SLUG, ROUTE, "/docs/embodiment", EMBODIMENT)]
    assert data["removed"] == []


def test_moved_chapter_folder_is_moved_not_removed(any_workspace: Workspace) -> None:
    ws = any_workspace
    sync(ws)
    before = lessons(ws)
    outline = ws.book / "curriculum.md"
    outline.write_text(outline.read_text(encoding="utf-8").replace(
        "`01-what-is-physical-ai/`", "`01-physical-ai-basics/`"), encoding="utf-8")
    rename(ws, CH1, "docs/01-Physical-AI-Foundations/01-physical-ai-basics")
    data = sync(ws)
    assert data["removed"] == [] and data["deleted"] == 0 and data["created"] == 0
    moved = {x["old_route"]: x for x in data["moved"]}
    assert len(moved) == 5  # index, three lessons, lab
    assert moved[ROUTE]["new_route"] == "/docs/Physical-AI-Foundations/physical-ai-basics/lesson-embodiment-hypothesis"
    assert moved[ROUTE]["old_slug"] == SLUG
    after = lessons(ws)
    assert after["physical-ai-basics/lesson-embodiment-hypothesis"].id == before[SLUG].id
    check_consistent(database_url(ws), ws.storage)


def test_deleted_lesson_is_removed(any_workspace: Workspace) -> None:
    ws = any_workspace
    sync(ws)
    (ws.book / CONSTRAINTS).unlink()
    data = sync(ws, "--dry-run")
    assert data["moved"] == []
    assert [(x["old_route"], x["new_route"]) for x in data["removed"]] == [
        ("/docs/Physical-AI-Foundations/what-is-physical-ai/lesson-real-world-constraints", None)]


def test_fail_on_refuses_to_write_and_exits_1(any_workspace: Workspace) -> None:
    ws = any_workspace
    sync(ws)
    set_front(ws, EMBODIMENT, slug="/embodiment")
    (ws.book / CONSTRAINTS).unlink()
    before = dump_tables(database_url(ws)), dump_store(ws.storage)
    for args, failed in ((["--fail-on", "moved"], ["moved"]), (["--fail-on", "removed"], ["removed"]),
                         (["--fail-on", "moved,removed"], ["moved", "removed"])):
        for extra in ([], ["--dry-run"]):
            result = ws.run("sync", "--json", *args, *extra)
            assert result.code == 1, (args, extra, result.stderr)
            assert result.json["failed_on"] == failed
            assert (dump_tables(database_url(ws)), dump_store(ws.storage)) == before
    assert ws.run("sync", "--fail-on", "renamed").code == 2
    done = sync(ws)  # without --fail-on the edit goes through
    assert done["failed_on"] == [] and len(done["moved"]) == 1 and len(done["removed"]) == 1


def test_redirects_after_two_successive_moves(any_workspace: Workspace) -> None:
    ws = any_workspace
    sync(ws)
    set_front(ws, EMBODIMENT, slug="/second-home")
    sync(ws)
    set_front(ws, EMBODIMENT, slug="/third-home")
    sync(ws)
    data = redirects(ws)
    assert data["redirects"] == [
        {"from": ROUTE, "to": "/docs/third-home", "slug": SLUG},
        {"from": "/docs/second-home", "to": "/docs/third-home", "slug": SLUG},
    ]
    docusaurus = redirects(ws, "docusaurus")
    assert docusaurus == {"redirects": [{"from": [ROUTE, "/docs/second-home"], "to": "/docs/third-home"}]}
    nginx = ws.run("redirects", "--format", "nginx")
    assert nginx.code == 0
    assert f"location = {ROUTE} {{ return 301 /docs/third-home; }}" in nginx.stdout.splitlines()
    # Moving back home drops that route from the history: the live lesson answers it again.
    set_front(ws, EMBODIMENT, slug="/second-home")
    sync(ws)
    assert [(x["from"], x["to"]) for x in redirects(ws)["redirects"]] == [
        (ROUTE, "/docs/second-home"), ("/docs/third-home", "/docs/second-home")]
