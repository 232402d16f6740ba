"""Two syncs started together never interleave: the second waits for the lock, or exits with BusyError's message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, Workspace, bookctl_executable, create_pg_database, make_workspace
from tests.syncutil import check_consistent, database_url

DRIVER = str(REPO / "tests" / "sync_driver.py")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ws(request, tmp_path: Path, fixture_book: Path) -> Workspace:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shared.db'}"
    else:
        url = create_pg_database(request)
    workspace = make_workspace(tmp_path / "ws", fixture_book, url)
    assert workspace.run("db", "upgrade").code == 0
    return workspace


def test_two_syncs_started_together_take_turns(ws: Workspace, tmp_path: Path) -> None:
    log = tmp_path / "lock.log"
    env = ws.subprocess_env() | {"BOOKCTL_LOCK_TIMEOUT": "60"}
    procs = [subprocess.Popen([sys.executable, DRIVER, "slow", str(log)], env=env, cwd=ws.root,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    events = log.read_text().split()
    # enter A, exit A, enter B, exit B: the second never starts while the first holds the lock
    actions, pids = events[0::2], events[1::2]
    assert actions == ["enter", "exit", "enter", "exit"], events
    assert pids[0] == pids[1] and pids[2] == pids[3] and pids[0] != pids[2]
    # the first did all the work; the second, once it got the lock, found nothing to do
    assert sorted(out.strip() for out, _ in outputs) == ["uploaded 0", "uploaded 19"]
    check_consistent(database_url(ws), ws.storage)


def test_second_sync_gives_up_with_a_clear_message(ws: Workspace) -> None:
    holder = subprocess.Popen([sys.executable, DRIVER, "hold", "30"], env=ws.subprocess_env(), cwd=ws.root,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked", holder.stderr.read() if holder.poll() is not None else ""
        env = ws.subprocess_env() | {"BOOKCTL_LOCK_TIMEOUT": "0.5"}
        busy = subprocess.run([*bookctl_executable(), "sync"], env=env, cwd=ws.root, capture_output=True, text=True, timeout=60)
        assert busy.returncode == 1
        assert busy.stderr.strip() == ("bookctl: another bookctl sync is running on this database (waited 0.5s); "
                                       "let it finish, or raise BOOKCTL_LOCK_TIMEOUT")
        as_json = subprocess.run([*bookctl_executable(), "sync", "--json"], env=env, cwd=ws.root,
                                 capture_output=True, text=True, timeout=60)
        assert as_json.returncode == 1 and '"error": "busy"' in as_json.stdout
        # a dry run only reads: it does not need the lock
        dry = subprocess.run([*bookctl_executable(), "sync", "--dry-run", "--json"], env=env, cwd=ws.root,
                             capture_output=True, text=True, timeout=60)
        assert dry.returncode == 0, dry.stderr
    finally:
        holder.kill()
        holder.wait()
    # the holder was killed (-9): its lock died with it, and the next sync goes through
    after = ws.run("sync", "--json")
    assert after.code == 0 and after.json["uploaded"] == 19
