"""`bookctl init`: a curriculum.md written from the tree gives the same outline; never overwrites without --force."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bookctl.curriculum import load_book
from bookctl.curriculum.model import Book
from tests.conftest import make_workspace
from tests.realbooks import real_book_sites

SITES = real_book_sites()


def shape(book: Book):
    """Everything the outline decides: parts, chapters, their lessons in order (by route and type), pages."""
    parts = [(p.number, p.title, p.folder,
              [(c.number, c.local_number, c.title, [(l.route, l.type, l.title) for l in c.lessons]) for c in p.chapters],
              sorted(l.route for l in p.pages)) for p in book.parts]
    return book.slug, book.title, parts, sorted(l.route for l in book.pages)


@pytest.mark.parametrize("name", sorted(SITES))
def test_init_round_trips(tmp_path: Path, name: str) -> None:
    book_dir = tmp_path / "book"
    shutil.copytree(SITES[name], book_dir)
    before, _ = load_book(book_dir)
    ws = make_workspace(tmp_path / "ws", book_dir)
    result = ws.run("init", "--json")
    assert result.code == 0, result.stderr
    text = (book_dir / "curriculum.md").read_text()
    assert "<!-- **Layer:** L1 -->" in text and "<!-- **Prerequisites:** Chapter 1 -->" in text
    checked = ws.run("check", "--json")
    assert checked.code == 0 and checked.json["errors"] == 0, checked.stdout
    assert checked.json["outline"] == "curriculum.md"
    after, _ = load_book(book_dir)
    assert shape(after) == shape(before)


def test_init_never_overwrites_without_force(tmp_path: Path) -> None:
    book_dir = tmp_path / "book"
    shutil.copytree(SITES["muhammadz24__Physical-AI-Humanoid-Robotics"], book_dir)
    (book_dir / "curriculum.md").write_text("# Mine\n\nhand-written\n")
    ws = make_workspace(tmp_path / "ws", book_dir)
    refused = ws.run("init")
    assert refused.code == 2 and "--force" in refused.stderr
    assert (book_dir / "curriculum.md").read_text() == "# Mine\n\nhand-written\n"
    as_json = ws.run("init", "--json")
    assert as_json.code == 2 and as_json.json["error"] == "usage_error"
    forced = ws.run("init", "--force", "--json")
    assert forced.code == 0 and forced.json["overwritten"] is True
    assert "## Part 1 — Chapter 1 - Introduction to Physical AI" in (book_dir / "curriculum.md").read_text()
