"""A corpus of malformed books, generated here from the fixture book: each one must make `check` and `sync`
exit 1 with file:line and no traceback, and leave the database and the store exactly as they were.

One synced workspace per dialect (module scope); each case mutates a fresh copy of the book and points the
same workspace at it, so the dumps before and after compare the very same database and store.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Callable

import pytest

from tests.conftest import FIXTURE_BOOK, create_pg_database, make_workspace
from tests.syncutil import database_url, dump_store, dump_tables

PART = "docs/01-Physical-AI-Foundations"
CHAPTER = f"{PART}/01-what-is-physical-ai"
WHERE = re.compile(r"^(?:bookctl: )?\S+:\d+: error: ", re.M)  # "docs/x.md:3: error: ..." on stderr


def _lessons(book: Path) -> list[Path]:
    return sorted((book / CHAPTER).glob("0*.md"))


def _lesson(book: Path, index: int = 0) -> Path:
    return _lessons(book)[index]


def _front(book: Path, lines: str, index: int = 0) -> None:
    """Put `lines` at the top of a lesson's front matter."""
    path = _lesson(book, index)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    front, body = text[4:].split("\n---\n", 1)
    keys = {line.split(":", 1)[0] + ":" for line in lines.splitlines() if re.match(r"^[A-Za-z_]+:", line)}
    kept = [line for line in front.splitlines() if not line.startswith(tuple(keys))]  # ours replace, not duplicate
    path.write_text("---\n" + lines + "\n".join(kept) + "\n---\n" + body, encoding="utf-8")


def _write(book: Path, rel: str, data: bytes | str) -> None:
    path = book / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))


def _outline(book: Path, old: str, new: str) -> None:
    path = book / "curriculum.md"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _symlink(book: Path, rel: str, target: str) -> None:
    os.symlink(target, book / rel)


BOMB = ("a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
        "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n")

# name -> mutation of a fresh copy of the fixture book. Every one is an error somewhere in the book.
CASES: dict[str, Callable[[Path], None]] = {
    "binary-lesson": lambda b: _lesson(b).write_bytes(bytes(range(256)) * 64),
    "invalid-utf8-lesson": lambda b: _lesson(b).write_bytes(_lesson(b).read_bytes() + b"\nbad \xff\xfe byte\n"),
    "invalid-utf8-outline": lambda b: (b / "curriculum.md").write_bytes((b / "curriculum.md").read_bytes() + b"\n\xc3\x28\n"),
    "latin1-lesson": lambda b: _lesson(b).write_bytes("---\ntitle: Caf\u00e9\n---\n# Caf\u00e9\n".encode("latin-1")),
    "bom-crlf-unclosed-front-matter": lambda b: _lesson(b).write_bytes(b"\xef\xbb\xbf---\r\ntitle: X\r\nbody\n# X\r\n"),
    "bom-crlf-bad-yaml": lambda b: _lesson(b).write_bytes(b"\xef\xbb\xbf---\r\ntitle: [unclosed\r\n---\n# X\r\n"),
    "crlf-front-matter-not-a-mapping": lambda b: _lesson(b).write_bytes(b"---\r\n- a\r\n- b\r\n---\r\n# X\r\n"),
    "ten-mb-lesson": lambda b: _lesson(b).write_bytes(b"---\ntitle: Big\n---\n" + b"word " * (2 * 1024 * 1024)),
    "symlink-escape-file": lambda b: ((b.parent / ".env").write_text("SECRET=hunter2\n"),
                                      _symlink(b, f"{CHAPTER}/09-notes.md", "../../../../.env")),
    "symlink-escape-absolute": lambda b: _symlink(b, f"{CHAPTER}/09-passwd.md", "/etc/passwd"),
    "symlink-escape-dir": lambda b: _symlink(b, f"{PART}/99-outside", "/etc"),
    "symlink-loop-files": lambda b: (_symlink(b, f"{CHAPTER}/09-a.md", "09-b.md"), _symlink(b, f"{CHAPTER}/09-b.md", "09-a.md")),
    "symlink-loop-dir": lambda b: _symlink(b, f"{CHAPTER}/loop", ".."),
    "symlink-dangling": lambda b: _symlink(b, f"{CHAPTER}/09-gone.md", "no-such-file.md"),
    "symlink-to-dev-zero": lambda b: _symlink(b, f"{CHAPTER}/09-zero.md", "/dev/zero"),
    "duplicate-route-front-matter": lambda b: (_front(b, "slug: same-page\n", 0), _front(b, "slug: same-page\n", 1)),
    "duplicate-route-absolute-slug": lambda b: (_front(b, "slug: /x/y\n", 0), _front(b, "slug: /x//y/\n", 1)),
    "duplicate-id": lambda b: (_front(b, "id: twin\n", 0), _front(b, "id: twin\n", 1)),
    "yaml-billion-laughs": lambda b: _front(b, BOMB),
    "yaml-alias-in-sidebar-position": lambda b: _front(b, BOMB + "sidebar_position: *g\n"),
    "yaml-deep-nesting": lambda b: _front(b, "x: " + "[" * 5000 + "]" * 5000 + "\n"),
    "yaml-huge-front-matter": lambda b: _front(b, "".join(f"k{i}: {'v' * 60}\n" for i in range(2000))),
    "yaml-invalid": lambda b: _front(b, "title: : :\n  - [\n"),
    "yaml-unknown-tag": lambda b: _front(b, "title: !!python/object:os.system x\n"),
    "front-matter-unclosed": lambda b: _lesson(b).write_text("---\ntitle: Never closed\n# Body\n", encoding="utf-8"),
    "empty-outline": lambda b: (b / "curriculum.md").write_bytes(b""),
    "outline-only-whitespace": lambda b: (b / "curriculum.md").write_text("\n\n   \n\t\n", encoding="utf-8"),
    "nul-in-lesson": lambda b: _lesson(b).write_bytes(_lesson(b).read_bytes() + b"\nhidden\x00nul\n"),
    "nul-in-outline": lambda b: (b / "curriculum.md").write_bytes((b / "curriculum.md").read_bytes() + b"\nx\x00y\n"),
    "nul-in-title-escape": lambda b: _front(b, 'title: "Null\\0Title"\n'),
    "nul-in-tags-escape": lambda b: _front(b, 'tags: ["ok", "bad\\0tag"]\n'),
    "nul-in-description-escape": lambda b: _front(b, 'description: "a\\0b"\n'),
    "very-long-file-name": lambda b: _write(b, f"{CHAPTER}/09-{'x' * 240}.md", "---\ntitle: Long\n---\n# Long\n"),
    "very-long-slug": lambda b: _front(b, f"slug: {'s' * 600}\n"),
    "very-long-id": lambda b: _front(b, f"id: {'i' * 300}\n"),
    "slug-path-traversal": lambda b: _front(b, "slug: /../../../../etc/passwd\n"),
    "slug-absolute-traversal": lambda b: _front(b, "slug: /../../../etc/passwd\n"),
    "deep-headings-no-title": lambda b: _lesson(b).write_text(
        "\n".join("#" * (2 + i % 12) + f" level {i}" for i in range(5000)) + "\n", encoding="utf-8"),
    "title-is-a-mapping": lambda b: _front(b, "title: {a: 1}\n"),
    "type-unknown": lambda b: _front(b, "type: essay\n"),
    "minutes-huge": lambda b: _front(b, f"estimated_minutes: {10**30}\n"),
    "sidebar-position-huge-int": lambda b: _front(b, f"sidebar_position: {10**400}\n"),
    "sidebar-position-infinite": lambda b: _front(b, "sidebar_position: .inf\n"),
    "layer-invalid": lambda b: _front(b, "layer: L99\n"),
    "id-with-slash": lambda b: _front(b, "id: a/b\n"),
    # (an unknown front-matter prerequisite is a warning, kept as text: real books use free text there, issue 13)
    "prerequisite-self": lambda b: _front(b, f"prerequisites: [{_lesson(b).stem}]\n"),
    "part-number-huge": lambda b: _outline(b, "## Part 1", "## Part 99999999999"),
    "week-number-huge": lambda b: _outline(b, "(Weeks 1-2)", "(Weeks 1-99999999999)"),
    "part-title-too-long": lambda b: _outline(b, "## Part 1", "## Part 1 — " + "T" * 300),
    "outline-symlink-outside": lambda b: ((b / "curriculum.md").unlink(), _symlink(b, "curriculum.md", "/etc/hostname")),
}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def synced(request, tmp_path_factory):
    """A workspace with the fixture book synced, a learner's progress in it, and its DB+store dump."""
    from tests.syncutil import add_learner, dump_lessons

    root = tmp_path_factory.mktemp(f"corpus-{request.param}")
    book = root / "book"
    shutil.copytree(FIXTURE_BOOK, book, ignore=shutil.ignore_patterns("contract"))
    url = None if request.param == "sqlite" else create_pg_database(request)
    ws = make_workspace(root / "ws", book, url)
    assert ws.run("db", "upgrade").code == 0
    assert ws.run("sync").code == 0
    slug = next(r["slug"] for r in dump_lessons(database_url(ws)) if r["status"] == "written")
    add_learner(database_url(ws), slug)
    return ws, dump_tables(database_url(ws)), dump_store(ws.storage)


def test_the_corpus_is_big_enough() -> None:
    assert len(CASES) >= 40, len(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_book_is_refused_and_changes_nothing(synced, tmp_path: Path, name: str) -> None:
    ws, tables_before, store_before = synced
    book = tmp_path / "book"
    shutil.copytree(FIXTURE_BOOK, book, ignore=shutil.ignore_patterns("contract"))
    CASES[name](book)
    env = {"BOOKCTL_BOOK": str(book)}

    check = ws.run("check", **env)
    assert check.code == 1, (name, check.stdout[-2000:], check.stderr[-2000:])
    assert re.search(r"^\S+:\d+: error: ", check.stdout, re.M), (name, check.stdout[-2000:])
    assert "Traceback" not in check.stdout + check.stderr

    sync = ws.run("sync", **env)
    assert sync.code == 1, (name, sync.stdout[-2000:], sync.stderr[-2000:])
    assert WHERE.search(sync.stderr), (name, sync.stderr[-2000:])
    assert "Traceback" not in sync.stdout + sync.stderr

    as_json = ws.run("sync", "--json", **env)
    assert as_json.code == 1 and as_json.json["error"] == "content_error", (name, as_json.stdout[-2000:])
    assert all(p["line"] >= 1 for p in as_json.json["detail"]["problems"] if p["severity"] == "error")

    assert dump_tables(database_url(ws)) == tables_before, f"{name}: the database changed"
    assert dump_store(ws.storage) == store_before, f"{name}: the store changed"
