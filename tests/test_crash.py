"""Crash safety: a sync killed with a real SIGKILL at several points, then re-run, ends where a clean sync ends."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.conftest import FIXTURE_BOOK, REPO, Workspace, create_pg_database, make_workspace
from tests.storeutil import Backend, open_backend
from tests.syncutil import check_consistent, database_url, dump_lessons

DRIVER = str(REPO / "tests" / "sync_driver.py")
CH1 = "docs/01-Physical-AI-Foundations/01-what-is-physical-ai"
CH2 = "docs/01-Physical-AI-Foundations/02-sensors-actuators-humanoid-body"


def new_book(root: Path) -> Path:
    shutil.copytree(FIXTURE_BOOK, root, ignore=shutil.ignore_patterns("contract"))
    return root


def edit_book(book: Path) -> None:
    """Version 2 of the book: three lessons edited, one page removed, one lesson added."""
    for rel in (f"{CH1}/01-lesson-digital-vs-physical-ai.md", f"{CH1}/03-lesson-real-world-constraints.md",
                f"{CH2}/02-lesson-actuators-motors.md"):
        path = book / rel
        path.write_bytes(path.read_bytes() + b"\nRevised for version 2.\n")
    shutil.rmtree(book / "docs/course-overview")
    (book / CH2 / "05-further-reading.md").write_text("---\ntitle: Further reading\n---\n\nBooks.\n")


def workspace_on(dialect: str, root: Path, book: Path, request) -> Workspace:
    if dialect == "sqlite":
        ws = make_workspace(root, book, f"sqlite:///{root / 'crash.db'}")
    else:
        ws = make_workspace(root, book, create_pg_database(request))
    assert ws.run("db", "upgrade").code == 0
    return ws


def cli_sync(ws: Workspace) -> dict:
    result = ws.run("sync", "--json")
    assert result.code == 0, result.stderr
    return result.json


def run_driver(ws: Workspace, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, DRIVER, *args], env=ws.subprocess_env(), cwd=ws.root,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def dialect(request) -> str:
    return request.param


CRASH_POINTS = [
    ("kill-after-mark",),
    ("kill-in-put", "2"),
    ("kill-after-upload", "1"),
    ("kill-after-upload", "3"),
    ("kill-before-commit",),
    ("kill-after-commit",),
    ("kill-in-sweep",),
    ("kill-after-sweep",),
]
BEFORE_COMMIT = ("kill-after-mark", "kill-in-put", "kill-after-upload", "kill-before-commit")
# file on both dialects; S3 (moto) and MCP (reference server) on SQLite: the ordering is the store's business
CASES = [pytest.param(("file", "sqlite"), id="file-sqlite"),
         pytest.param(("file", "postgresql"), id="file-postgresql", marks=pytest.mark.postgres),
         pytest.param(("s3", "sqlite"), id="s3-sqlite"),
         pytest.param(("mcp-http", "sqlite"), id="mcp-sqlite")]


def on_backend(tmp_path: Path, name: str, dialect: str, request, stack: ExitStack) -> tuple[Workspace, Backend]:
    backend = open_backend(name, tmp_path, stack)
    ws = workspace_on(dialect, tmp_path / "ws", new_book(tmp_path / "book"), request)
    ws.env.update(backend.env)
    return ws, backend


_REFERENCES: dict[tuple[str, str], tuple[list, dict]] = {}


def reference(tmp_path: Path, name: str, dialect: str, request) -> tuple[list, dict]:
    """What a clean sync of version 1, then of version 2, leaves in the database and the store (computed once
    per store and dialect: it is a pure function of the two book versions)."""
    if (name, dialect) not in _REFERENCES:
        _REFERENCES[(name, dialect)] = _reference(tmp_path, name, dialect, request)
    return _REFERENCES[(name, dialect)]


def _reference(tmp_path: Path, name: str, dialect: str, request) -> tuple[list, dict]:
    with ExitStack() as stack:
        ws, backend = on_backend(tmp_path / "reference", name, dialect, request, stack)
        cli_sync(ws)
        edit_book(ws.book)
        cli_sync(ws)
        return dump_lessons(database_url(ws)), backend.dump()


def rows_point_at_objects(ws: Workspace, objects: dict) -> None:
    keys = {r["bucket_path"] for r in dump_lessons(database_url(ws)) if r["bucket_path"]}
    assert keys <= set(objects), keys - set(objects)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("point", CRASH_POINTS, ids=lambda p: "-".join(p))
def test_killed_resync_converges(tmp_path: Path, request, case: tuple[str, str], point: tuple[str, ...]) -> None:
    name, dialect = case
    lessons, store = reference(tmp_path, name, dialect, request)
    with ExitStack() as stack:
        ws, backend = on_backend(tmp_path / "crash", name, dialect, request, stack)
        cli_sync(ws)
        edit_book(ws.book)
        before = backend.dump()

        crashed = run_driver(ws, *point)
        assert crashed.returncode == -signal.SIGKILL, (crashed.stdout, crashed.stderr)
        after_crash = backend.dump()
        rows_point_at_objects(ws, after_crash)  # at every point: no row points at a missing object
        slugs = {r["slug"] for r in dump_lessons(database_url(ws))}
        if point[0] in BEFORE_COMMIT:
            assert "course-overview/index" in slugs  # the database has not changed
            if point[0] in ("kill-after-upload", "kill-before-commit"):
                assert after_crash != before  # ... though new objects were written
        else:
            assert "course-overview/index" not in slugs  # committed
            if point[0] == "kill-after-commit":  # not swept: the old objects live on until the next run
                assert any("course-overview" in key for key in after_crash)

        data = cli_sync(ws)
        assert data["deleted"] == 0 or point[0] in BEFORE_COMMIT
        assert dump_lessons(database_url(ws)) == lessons
        assert backend.dump() == store
        check_consistent(database_url(ws), backend.dump())
        again = cli_sync(ws)
        assert (again["uploaded"], again["objects_deleted"], again["updated"]) == (0, 0, 0)


@pytest.mark.parametrize("case", CASES)
def test_killed_first_sync_converges(tmp_path: Path, request, case: tuple[str, str]) -> None:
    """A cold sync killed mid-upload leaves only orphans, which the next run adopts or sweeps."""
    name, dialect = case
    with ExitStack() as stack:
        clean, clean_backend = on_backend(tmp_path / "clean", name, dialect, request, stack)
        cli_sync(clean)
        ws, backend = on_backend(tmp_path / "crash", name, dialect, request, stack)
        crashed = run_driver(ws, "kill-after-upload", "5")
        assert crashed.returncode == -signal.SIGKILL
        assert len(backend.dump()) >= 5 and dump_lessons(database_url(ws)) == []
        data = cli_sync(ws)
        assert data["created"] == 34
        assert dump_lessons(database_url(ws)) == dump_lessons(database_url(clean))
        assert backend.dump() == clean_backend.dump()
        check_consistent(database_url(ws), backend.dump())
