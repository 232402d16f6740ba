"""Hypothesis-driven edit sequences against a synced book (issue 11, the standing adversarial suite).

Edits: add a lesson, remove one, rename its file, move it to another chapter, RE-SLUG it (give it a new
front-matter `id:`; or rename its file and edit its text while its `slug:` keeps the URL) and SWAP two lessons
(exchange their `slug:` routes; or exchange their files' names, within a chapter or across two). After every
sync:

- the live rows, their routes and the store equal a fresh sync of the same tree into an empty database;
- every lesson the model tracks is still on the row it had (identity follows the editor's intent, see
  bookctl/pipeline/identity.py): a renamed, moved or re-slugged lesson keeps its row id;
- the learner's progress (one row per lesson of the original book) is all there, each on its lesson's row.

Both dialects. Each step is a real `bookctl sync` (in-process CLI). Bounded: the explicit examples (which
cover every kind of edit) always run; the generated ones stop being run once `BUDGET_SECONDS` have passed for
the dialect, so a loaded machine makes the suite shorter rather than longer (see `_over_budget`).
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bookctl.db import models as m
from bookctl.db.base import Base
from bookctl.db.engine import make_engine
from tests.conftest import FIXTURE_BOOK, create_pg_database, make_workspace
from tests.syncutil import check_consistent, dump_lessons, dump_store

PART = "docs/01-Physical-AI-Foundations"
KINDS = ["add", "remove", "rename", "move", "reslug_id", "reslug_file", "swap", "swap_files"]
BUDGET_SECONDS = 60.0  # per dialect (the explicit examples always run; generated ones only within it)
MAX_EXAMPLES = 5

# An edit is (kind, a lesson, another lesson or a chapter, a number); indices are taken modulo what exists.
EDITS = st.tuples(st.sampled_from(KINDS), st.integers(0, 50), st.integers(0, 50), st.integers(0, 9))


@dataclass
class Tracked:
    """One lesson as the editor sees it: its file now, and the row it must stay on (None: not synced yet)."""

    path: str  # relative to the book
    row_id: uuid.UUID | None = None
    seconds: int | None = None  # the learner's progress on it, if any


@dataclass
class Model:
    book: Path
    lessons: list[Tracked] = field(default_factory=list)
    names: Iterator[int] = field(default_factory=lambda: itertools.count(1))  # fresh names never collide

    def at(self, rel: str) -> Tracked:
        return next(t for t in self.lessons if t.path == rel)

    def files(self) -> list[str]:
        return sorted(p.relative_to(self.book).as_posix() for p in (self.book / PART).glob("*/0*.md"))

    def chapters(self) -> list[Path]:
        return sorted(p for p in (self.book / PART).iterdir() if p.is_dir())


def front(book: Path, rel: str) -> dict[str, str]:
    head = (book / rel).read_text(encoding="utf-8").removeprefix("---\n").partition("\n---\n")[0]
    return dict(line.split(": ", 1) for line in head.splitlines() if ": " in line)


def set_front(book: Path, rel: str, **fields: str) -> None:
    """Add (or replace) front-matter keys of one lesson file."""
    path = book / rel
    head, sep, rest = path.read_text(encoding="utf-8").partition("\n---\n")
    lines = [line for line in head.splitlines() if line.split(":", 1)[0] not in fields]
    lines += [f"{key}: {value}" for key, value in fields.items()]
    path.write_text("\n".join(lines) + sep + rest, encoding="utf-8")


def steps(model: Model, edit: tuple[str, int, int, int]) -> Iterator[str]:
    """Apply `edit` to the book and the model; yield after each change that is to be synced on its own."""
    kind, a, b, digit = edit
    book, files, chapters = model.book, model.files(), model.chapters()
    k = next(model.names)
    if kind == "add" or not files:
        chapter = chapters[b % len(chapters)]
        path = chapter / f"0{5 + digit % 5}-lesson-added-{k}.md"
        path.write_text(f"---\ntitle: Added {k}\n---\n# Added {k}\n\nNew text {k}.\n", encoding="utf-8")
        model.lessons.append(Tracked(path.relative_to(book).as_posix()))
        yield f"add {path.relative_to(book)}"
        return
    rel = files[a % len(files)]
    lesson, path = model.at(rel), book / rel
    if kind == "remove":
        path.unlink()
        model.lessons.remove(lesson)
        yield f"remove {rel}"
    elif kind in ("rename", "reslug_file"):
        if kind == "reslug_file" and "slug" not in front(book, rel):
            set_front(book, rel, slug=f"/kept-{k}")  # its URL is pinned first (a sync of its own: a route move)
            yield f"pin {rel} at /kept-{k}"
        new = path.with_name(f"{path.name[:3]}lesson-{'renamed' if kind == 'rename' else 'refiled'}-{k}.md")
        path.rename(new)
        if kind == "reslug_file":  # and edited: only its route (kept by `slug:`) says it is the same lesson
            with new.open("a", encoding="utf-8") as f:
                f.write(f"\nEdited {k}.\n")
        lesson.path = new.relative_to(book).as_posix()
        yield f"{kind} {rel} -> {new.name}"
    elif kind == "move":
        target = chapters[b % len(chapters)]
        if target == path.parent:
            target = chapters[(chapters.index(target) + 1) % len(chapters)]
        new = target / f"0{5 + digit % 5}-lesson-moved-{k}.md"
        path.rename(new)
        lesson.path = new.relative_to(book).as_posix()
        yield f"move {rel} -> {lesson.path}"
    elif kind == "reslug_id":  # a new slug (chapter/id), the same file
        set_front(book, rel, id=f"ident-{k}")
        yield f"id {rel}: ident-{k}"
    elif kind == "swap":
        other = files[b % len(files)]
        if other == rel:
            other = files[(files.index(rel) + 1) % len(files)]
        if other == rel:
            return
        pinned = False
        for i, each in enumerate((rel, other)):
            if "slug" not in front(book, each):
                set_front(book, each, slug=f"/swap-{k}-{i}")
                pinned = True
        if pinned:
            yield f"pin {rel} and {other}"
        first, second = front(book, rel)["slug"], front(book, other)["slug"]
        set_front(book, rel, slug=second)
        set_front(book, other, slug=first)
        yield f"swap routes of {rel} ({first}) and {other} ({second})"
    elif kind == "swap_files":  # two files exchange names (in one chapter or two): each lesson keeps its row
        other = files[b % len(files)]
        if other == rel:
            other = files[(files.index(rel) + 1) % len(files)]
        if other == rel:
            return
        second, parked = model.at(other), path.with_name(f"swapping-{k}.md")
        path.rename(parked)
        (book / other).rename(path)
        parked.rename(book / other)
        lesson.path, second.path = other, rel
        yield f"swap files {rel} and {other}"


def wipe(url: str, store: Path, data_dir: Path) -> None:
    """An empty database (schema kept) and an empty store: what a fresh sync starts from."""
    engine = make_engine(url)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))
    engine.dispose()
    shutil.rmtree(store, ignore_errors=True)
    shutil.rmtree(data_dir / "sync-receipts", ignore_errors=True)


def live_rows(url: str) -> tuple[dict[str, uuid.UUID], dict[uuid.UUID, bool]]:
    """({source path: row id} of the live lessons with a file, {row id: retired?} of every row)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(m.Lesson.id, m.Lesson.source_path, m.Lesson.status, m.Lesson.removed_at)).all()
    engine.dispose()
    files = {r.source_path: r.id for r in rows if r.removed_at is None and r.status == "written"}
    return files, {r.id: r.removed_at is not None for r in rows}


def progress(url: str) -> dict[uuid.UUID, int]:
    """{lesson row id: seconds} of the one learner."""
    engine = make_engine(url)
    with engine.connect() as conn:
        found = {r.lesson_id: r.time_spent_seconds for r in conn.execute(select(m.UserProgress))}
    engine.dispose()
    return found


def add_learner_everywhere(url: str, model: Model) -> None:
    """One learner with progress on every lesson of the synced book (a distinct number of seconds on each)."""
    engine = make_engine(url)
    with Session(engine) as session:
        user = m.User(onboarding_completed=True)
        session.add(user)
        session.flush()
        for seconds, lesson in enumerate(model.lessons, start=60):
            lesson.seconds = seconds
            session.add(m.UserProgress(user_id=user.id, lesson_id=lesson.row_id, status="in_progress",
                                       time_spent_seconds=seconds))
        session.commit()
    engine.dispose()


_spent: dict[str, float] = {}


def _over_budget(dialect: str, explicit: bool) -> bool:
    """Generated examples stop running once this dialect has spent BUDGET_SECONDS, counted from its first
    example (hypothesis runs the explicit ones first, and they always run)."""
    started = _spent.setdefault(dialect, time.monotonic())
    return not explicit and time.monotonic() - started > BUDGET_SECONDS


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def two_databases(request, tmp_path: Path) -> tuple[str, str, str]:
    if request.param == "sqlite":
        return "sqlite", f"sqlite:///{tmp_path / 'incremental.db'}", f"sqlite:///{tmp_path / 'fresh.db'}"
    return "postgresql", create_pg_database(request), create_pg_database(request)


# Every kind of edit at least once, whatever the generated examples turn out to be; the first and the third
# re-slug and swap the lessons the learner has progress on, and move lessons between chapters.
EXPLICIT = [
    [("reslug_id", 1, 0, 0), ("swap", 1, 2, 0), ("reslug_file", 1, 0, 0), ("move", 1, 2, 3)],
    [("swap", 0, 4, 0), ("swap", 0, 4, 0), ("rename", 4, 0, 0), ("reslug_file", 0, 0, 0)],
    [("move", 2, 1, 1), ("reslug_id", 2, 0, 0), ("add", 0, 1, 2), ("swap", 2, 9, 0), ("remove", 3, 0, 0)],
    [("swap_files", 1, 2, 0), ("reslug_id", 1, 0, 0), ("swap_files", 1, 6, 0), ("reslug_file", 6, 0, 0),
     ("swap_files", 6, 1, 0)],
]


def _explicit(test):
    for edits in EXPLICIT:
        test = example(edits=edits, explicit=True)(test)
    return test


@_explicit
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(edits=st.lists(EDITS, min_size=1, max_size=4), explicit=st.just(False))
def test_incremental_syncs_equal_a_fresh_sync(two_databases: tuple[str, str, str], edits, explicit: bool) -> None:
    dialect, inc_url, fresh_url = two_databases
    if _over_budget(dialect, explicit):
        note("skipped: over the time budget")
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        book = root / "book"
        shutil.copytree(FIXTURE_BOOK, book, ignore=shutil.ignore_patterns("contract"))
        inc = make_workspace(root / "inc", book, inc_url)
        fresh = make_workspace(root / "fresh", book, fresh_url)
        for ws in (inc, fresh):
            assert ws.run("db", "upgrade").code == 0
            wipe(ws.env["BOOKCTL_DATABASE_URL"], ws.storage, Path(ws.env["BOOKCTL_DATA_DIR"]))
        assert inc.run("sync").code == 0
        files, _ = live_rows(inc_url)
        model = Model(book, [Tracked(rel, row_id) for rel, row_id in sorted(files.items())])
        add_learner_everywhere(inc_url, model)
        held = progress(inc_url)

        history: list[str] = []
        for edit in edits:
            for step in steps(model, edit):
                history.append(step)
                result = inc.run("sync", "--json")
                assert result.code == 0, (history, result.stdout[-800:], result.stderr[-800:])
                wipe(fresh_url, fresh.storage, Path(fresh.env["BOOKCTL_DATA_DIR"]))
                assert fresh.run("sync").code == 0, history

                assert [r for r in dump_lessons(inc_url) if not r["removed"]] == dump_lessons(fresh_url), history
                assert dump_store(inc.storage) == dump_store(fresh.storage), history
                check_consistent(inc_url, inc.storage)

                # identity: each tracked lesson is on the row it had; a new one is remembered from now on
                files, retired = live_rows(inc_url)
                assert sorted(files) == sorted(t.path for t in model.lessons), history
                for lesson in model.lessons:
                    if lesson.row_id is None:
                        lesson.row_id = files[lesson.path]
                    assert files[lesson.path] == lesson.row_id, (history, lesson)

                # progress: never lost, and on its lesson's row while that lesson is in the book
                now = progress(inc_url)
                assert sorted(now.values()) == sorted(held.values()), history
                assert set(now) <= set(retired), history  # every progress row points at an existing lesson row
                for lesson in model.lessons:
                    if lesson.seconds is not None:
                        assert now.get(lesson.row_id) == lesson.seconds, (history, lesson)


def test_the_explicit_examples_cover_every_kind_of_edit() -> None:
    assert {kind for edits in EXPLICIT for kind, *_ in edits} == set(KINDS)
