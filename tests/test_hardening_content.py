"""Content hardening (issue 11, items 2-6): mass-delete guard, symlinks, routes kept under the base, one
front-matter splitter, values the database would refuse found before any write."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bookctl.curriculum.frontmatter import split_block, split_front_matter
from bookctl.curriculum.routes import doc_route, normalize_route, route_under
from tests.conftest import Workspace
from tests.syncutil import add_learner, check_consistent, database_url, dump_lessons, dump_store, dump_tables

CHAPTER = "docs/01-Physical-AI-Foundations/01-what-is-physical-ai"


# ---------------------------------------------------------------- 4: mass delete

@pytest.mark.parametrize("damage", ["missing", "empty", "wrong-book"])
def test_a_sync_that_would_unpublish_most_lessons_refuses(any_workspace: Workspace, damage: str, tmp_path: Path) -> None:
    ws = any_workspace
    assert ws.run("sync").code == 0
    url = database_url(ws)
    slug = next(r["slug"] for r in dump_lessons(url) if r["status"] == "written")
    add_learner(url, slug)
    before_tables, before_store = dump_tables(url), dump_store(ws.storage)
    env = {}
    if damage == "missing":
        shutil.rmtree(ws.book / "docs")
    elif damage == "empty":
        shutil.rmtree(ws.book / "docs")
        (ws.book / "docs").mkdir()
    else:  # the same outline, a different (nearly empty) docs tree: --book pointed at the wrong checkout
        other = tmp_path / "other"
        other.mkdir()
        shutil.copy(ws.book / "curriculum.md", other / "curriculum.md")
        (other / "docs").mkdir()
        (other / "docs" / "intro.md").write_text("---\ntitle: Intro\n---\n# Intro\n", encoding="utf-8")
        env["BOOKCTL_BOOK"] = str(other)

    refused = ws.run("sync", **env)
    assert refused.code == 1, refused
    assert "--allow-mass-delete" in refused.stderr and "Traceback" not in refused.stderr
    as_json = ws.run("sync", "--json", **env)
    assert as_json.code == 1 and as_json.json["error"] == "mass_delete_refused"
    assert as_json.json["detail"]["written"] == 19 and as_json.json["detail"]["lost"] >= 18
    assert dump_tables(url) == before_tables and dump_store(ws.storage) == before_store

    allowed = ws.run("sync", "--allow-mass-delete", **env)
    assert allowed.code == 0, allowed
    check_consistent(url, ws.storage)
    # learner data is never touched: the user, their preferences and their progress all remain
    after = dump_tables(url)
    for table in ("users", "user_preferences", "user_progress"):
        assert after[table] == before_tables[table], table


def test_the_share_is_configurable_and_small_deletions_pass(workspace: Workspace) -> None:
    ws = workspace
    assert ws.run("sync").code == 0
    lessons = sorted((ws.book / CHAPTER).glob("0*.md"))
    for path in lessons[:3]:  # 3 of 19 written lessons: well under half
        path.unlink()
    assert ws.run("sync").code == 0
    for path in sorted((ws.book / "docs" / "01-Physical-AI-Foundations").rglob("0*lesson*.md"))[:2]:
        path.unlink()
    strict = ws.run("sync", BOOKCTL_MAX_DELETE_SHARE="0.05")  # 2 of 16 is over 5%
    assert strict.code == 1 and "--allow-mass-delete" in strict.stderr
    assert ws.run("sync").code == 0
    bad = ws.run("sync", BOOKCTL_MAX_DELETE_SHARE="2")
    assert bad.code == 2 and "BOOKCTL_MAX_DELETE_SHARE" in bad.stderr


# ---------------------------------------------------------------- 2: symlinks

def test_a_symlink_to_a_secret_outside_the_book_is_refused_and_never_published(workspace: Workspace) -> None:
    ws = workspace
    secret = ws.book.parent / ".env"
    secret.write_text("OPENAI_API_KEY=sk-secret-value\n", encoding="utf-8")
    os.symlink("../../../../.env", ws.book / CHAPTER / "09-notes.md")
    check = ws.run("check")
    assert check.code == 1
    assert f"{CHAPTER}/09-notes.md:1: error: refused: a symlink that leaves the book's folder" in check.stdout
    sync = ws.run("sync")
    assert sync.code == 1
    assert not any(b"sk-secret-value" in body for body in dump_store(ws.storage).values())


def test_dangling_symlinks_are_reported_and_links_inside_the_book_still_work(workspace: Workspace) -> None:
    ws = workspace
    os.symlink("nowhere.md", ws.book / CHAPTER / "09-gone.md")
    check = ws.run("check")
    assert check.code == 1 and f"{CHAPTER}/09-gone.md:1: error: refused: a symlink to nowhere.md, which does not exist" in check.stdout
    (ws.book / CHAPTER / "09-gone.md").unlink()
    shared = ws.book / "shared"
    shared.mkdir()
    (shared / "extra.md").write_text("---\ntitle: Shared extra\n---\n# Shared extra\n", encoding="utf-8")
    os.symlink("../../../shared/extra.md", ws.book / CHAPTER / "05-shared-extra.md")
    result = ws.run("sync", "--json")
    assert result.code == 0, result
    assert any(r["title"] == "Shared extra" for r in dump_lessons(database_url(ws)))


# ---------------------------------------------------------------- 6: routes

@pytest.mark.parametrize("slug, route", [
    ("../../../../etc/passwd", "/docs/etc/passwd"),  # relative: resolved inside the docs' URL space
    ("/../../x", "/x"),
    ("a/./b/../c", "/docs/part/chapter/a/c"),
    ("/intro/", "/docs/intro"),
])
def test_front_matter_slugs_are_normalised(slug: str, route: str) -> None:
    assert doc_route("/docs", ["part", "chapter", "lesson"], slug) == route


def test_route_under_the_base() -> None:
    assert route_under("/docs", "/docs") and route_under("/docs", "/docs/a/b") and route_under("", "/x")
    assert not route_under("/docs", "/etc/passwd") and not route_under("/docs", "/docsx")
    assert normalize_route("/docs/a/../../..") == "/"


def test_a_slug_climbing_out_of_the_route_base_is_an_error_at_its_line(workspace: Workspace) -> None:
    lesson = sorted((workspace.book / CHAPTER).glob("0*.md"))[0]
    text = lesson.read_text(encoding="utf-8")
    lesson.write_text(text.replace("---\n", "---\nslug: /../../etc/passwd\n", 1), encoding="utf-8")
    check = workspace.run("check")
    assert check.code == 1
    assert f"{lesson.relative_to(workspace.book).as_posix()}:2: error: slug '/../../etc/passwd' leads to /etc/passwd" in check.stdout


# ---------------------------------------------------------------- drift: one front-matter splitter

@pytest.mark.parametrize("text", [
    "---\ntitle: X\ndesc: |\n  ---\n  still yaml\n---\n# Body\n",  # an indented '---' inside a block scalar
    "---\ntitle: X\n  ---\n---\nbody",
    " ---\ntitle: X\n---\nbody\n",  # not front matter at all: the opening line must start the file
    "---\r\ntitle: X\r\n---\r\nbody\r\n",
    "---\ntitle: X\n...\nbody\n",
])
def test_the_parser_and_every_reader_split_front_matter_the_same_way(text: str) -> None:
    _meta, body_line, _problems = split_front_matter(text, "x.md")
    parsed_body = "\n".join(text.split("\n")[body_line - 1:]) if body_line > 1 else text
    assert parsed_body == split_block(text)[1]


# ---------------------------------------------------------------- 5: what the database would refuse

@pytest.mark.parametrize("front, words", [
    ('title: "A\\0B"\n', "title contains a NUL"),
    (f"slug: {'s' * 600}\n", "route is"),
    (f"id: {'i' * 300}\n", "slug is"),
    ("sidebar_position: .inf\n", "sidebar_position must be a finite number"),
])
def test_values_the_database_refuses_are_found_before_any_write(any_workspace: Workspace, front: str, words: str) -> None:
    ws = any_workspace
    assert ws.run("sync").code == 0
    url = database_url(ws)
    before_tables, before_store = dump_tables(url), dump_store(ws.storage)
    lesson = sorted((ws.book / CHAPTER).glob("0*.md"))[0]
    key = front.split(":", 1)[0] + ":"
    text = "".join(line for line in lesson.read_text(encoding="utf-8").splitlines(keepends=True) if not line.startswith(key))
    lesson.write_text(text.replace("---\n", "---\n" + front, 1), encoding="utf-8")
    lesson.write_text(lesson.read_text(encoding="utf-8") + "\nAn edit, so the body would be uploaded.\n", encoding="utf-8")
    check = ws.run("check")
    assert check.code == 1 and words in check.stdout, check.stdout[-1500:]
    sync = ws.run("sync")
    assert sync.code == 1 and words in sync.stderr and "Traceback" not in sync.stderr, sync.stderr[-1500:]
    assert dump_tables(url) == before_tables and dump_store(ws.storage) == before_store
