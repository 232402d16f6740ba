"""First use of the embedded default: an atomic, locked migration; a half-migrated database repaired or
explained; the signing key created once under a race; database credentials never printed (issue 11, 8-11)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from bookctl.config import Settings, redact_url
from tests.conftest import make_workspace


def _tables(db: Path) -> set[str]:
    engine = create_engine(f"sqlite:///{db}")
    try:
        return {t for t in inspect(engine).get_table_names() if not t.startswith("sqlite_")}
    finally:
        engine.dispose()


def _sql(db: Path, *statements: str) -> None:
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    engine.dispose()


# ---------------------------------------------------------------- 8: atomic first migration

def test_a_first_migration_that_fails_midway_leaves_no_table_behind(tmp_path: Path, fixture_book: Path) -> None:
    ws = make_workspace(tmp_path / "ws", fixture_book)
    db = Path(ws.env["BOOKCTL_DATA_DIR"]) / "bookctl.db"
    db.parent.mkdir(parents=True)
    # A view named like a table of the first migration, created after books/parts/chapters: the migration
    # fails partway through, as a full disk made it fail. (A view, so it is nobody's half-migrated table.)
    _sql(db, "CREATE VIEW lessons AS SELECT 1 AS x")
    failed = ws.run("status")
    assert failed.code == 2 and "lessons" in failed.stderr and "Traceback" not in failed.stderr, failed
    assert _tables(db) == set(), "the failed migration left tables behind"
    _sql(db, "DROP VIEW lessons")  # "space was freed"
    assert ws.run("sync").code == 0
    assert ws.run("status").code == 0


def test_a_half_migrated_empty_database_is_repaired(tmp_path: Path, fixture_book: Path) -> None:
    ws = make_workspace(tmp_path / "ws", fixture_book)
    db = Path(ws.env["BOOKCTL_DATA_DIR"]) / "bookctl.db"
    db.parent.mkdir(parents=True)
    # What the old non-transactional first migration left after a full disk: some tables, no version stamp.
    _sql(db, "CREATE TABLE books (id CHAR(32) PRIMARY KEY, slug VARCHAR(100))",
         "CREATE TABLE parts (id CHAR(32) PRIMARY KEY)")
    result = ws.run("sync")
    assert result.code == 0, result
    assert "alembic_version" in _tables(db)


def test_a_half_migrated_database_with_rows_is_explained_not_guessed(tmp_path: Path, fixture_book: Path) -> None:
    ws = make_workspace(tmp_path / "ws", fixture_book)
    db = Path(ws.env["BOOKCTL_DATA_DIR"]) / "bookctl.db"
    db.parent.mkdir(parents=True)
    _sql(db, "CREATE TABLE books (id CHAR(32) PRIMARY KEY, slug VARCHAR(100))", "INSERT INTO books VALUES ('1', 'x')")
    result = ws.run("sync")
    assert result.code == 2, result
    assert "no migration stamp" in result.stderr and "books" in result.stderr and "Traceback" not in result.stderr
    assert _tables(db) == {"books"}  # nothing touched


# ---------------------------------------------------------------- 9: parallel first use

def _first_use_worker(data_dir: str, barrier, out) -> None:
    from bookctl.config import load_settings
    from bookctl.runtime import Runtime

    barrier.wait(timeout=60)
    try:
        runtime = Runtime.open(load_settings({"BOOKCTL_DATA_DIR": data_dir}, toml_path=Path("/nonexistent")))
        runtime.close()
        out.put("ok")
    except Exception as exc:  # noqa: BLE001 - the failure is what the test counts
        out.put(f"ERROR {type(exc).__name__}: {exc}")


def test_parallel_first_use_of_the_embedded_database(tmp_path: Path) -> None:
    """24 processes open a brand-new embedded database at the same instant (forked after the imports, so
    the race is on the database, not on interpreter start-up): one migrates, the others wait."""
    import alembic.command  # noqa: F401 - imported before the fork, as each process would have it loaded

    import bookctl.migrations  # noqa: F401
    from bookctl.db import migrate  # noqa: F401

    ctx = multiprocessing.get_context("fork")
    barrier, out = ctx.Barrier(24), ctx.Queue()
    procs = [ctx.Process(target=_first_use_worker, args=(str(tmp_path / "data"), barrier, out)) for _ in range(24)]
    for p in procs:
        p.start()
    results = [out.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    failures = [r for r in results if r != "ok"]
    assert failures == [], f"{len(failures)} of 24 failed: {failures[:2]}"


# ---------------------------------------------------------------- 10: secret key race

def _race_worker(dirs: list[str], barrier, out) -> None:
    from bookctl.api.auth import load_secret_key

    keys = []
    for folder in dirs:
        barrier.wait(timeout=60)
        try:
            keys.append(load_secret_key(Settings(data_dir=Path(folder), database_url=f"sqlite:///{folder}/bookctl.db")).decode())
        except Exception as exc:  # noqa: BLE001 - the failure is what the test counts
            keys.append(f"ERROR {type(exc).__name__}: {exc}")
    out.put(keys)


def test_four_processes_creating_the_signing_key_at_once_all_read_one_key(tmp_path: Path) -> None:
    tries = 150
    dirs = [str(tmp_path / f"data{i}") for i in range(tries)]
    ctx = multiprocessing.get_context("fork")
    barrier, out = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_race_worker, args=(dirs, barrier, out)) for _ in range(4)]
    for p in procs:
        p.start()
    per_process = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    failures = [k for keys in per_process for k in keys if k.startswith("ERROR")]
    assert failures == [], f"{len(failures)} of {4 * tries} failed, e.g. {failures[:2]}"
    disagreements = [i for i in range(tries) if len({keys[i] for keys in per_process}) != 1]
    assert disagreements == []
    assert all((Path(d) / "secret_key").read_text().strip() == per_process[0][i] for i, d in enumerate(dirs))
    assert not [p for d in dirs for p in Path(d).iterdir() if p.name != "secret_key"]  # no temp file left


# ---------------------------------------------------------------- 11: credentials never printed

@pytest.mark.parametrize("url, secret", [
    ("postgresql://bob:hunter2x@127.0.0.1:1/x", "hunter2x"),
    ("postgresql://bob@127.0.0.1:1/x?password=hunter2x", "hunter2x"),
    ("postgresql://127.0.0.1:1/x?user=bob&password=hunter2x&sslmode=disable", "hunter2x"),
    ("postgresql://bob@127.0.0.1:1/x?sslpassword=hunter2x", "hunter2x"),
    ("postgresql://bob@127.0.0.1:1/x?password=hunter2x&bogus_option=1", "hunter2x"),
    ("postgresql://bob:hunter2x@127.0.0.1:notaport/x", "hunter2x"),
    ("mysql://bob:hunter2x@h/x", "hunter2x"),
])
def test_database_credentials_never_reach_a_message(tmp_path: Path, fixture_book: Path, url: str, secret: str) -> None:
    ws = make_workspace(tmp_path / "ws", fixture_book, url)
    for args in (("status",), ("status", "--json"), ("db", "current")):
        result = ws.run(*args)
        assert result.code == 2, result
        assert secret not in result.stdout + result.stderr, (args, result)
        assert "Traceback" not in result.stderr


def test_redact_url_forms() -> None:
    from bookctl.config import scrub

    assert redact_url("postgresql://bob:pw1@h/x") == "postgresql://bob:***@h/x"
    assert redact_url("postgresql://bob@h/x?password=pw1&sslmode=require") == "postgresql://bob@h/x?password=***&sslmode=require"
    assert redact_url("sqlite:///a/b.db") == "sqlite:///a/b.db"
    assert "pw1" not in scrub('missing "=" after "pw1" in connection info', "postgresql://h/x?password=pw1")
