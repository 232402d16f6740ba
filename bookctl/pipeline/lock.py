"""A lock so two syncs never interleave: a PostgreSQL advisory lock, or a file lock beside the SQLite DB."""

from __future__ import annotations

import fcntl
import os
import time
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, text

from bookctl.errors import BusyError

POLL_SECONDS = 0.2


@contextmanager
def exclusive(engine: Engine, name: str, timeout: float) -> Iterator[None]:
    """Hold the lock `name` for the block; wait up to `timeout` seconds, then raise BusyError."""
    if engine.dialect.name == "postgresql":
        with _advisory(engine, name, timeout):
            yield
    else:
        with _flock(_lock_path(engine, name), name, timeout):
            yield


def _busy(name: str, timeout: float) -> BusyError:
    return BusyError(f"another bookctl {name} is running on this database (waited {timeout:g}s); "
                     "let it finish, or raise BOOKCTL_LOCK_TIMEOUT")


@contextmanager
def _advisory(engine: Engine, name: str, timeout: float) -> Iterator[None]:
    key = zlib.crc32(f"bookctl:{name}".encode())
    deadline = time.monotonic() + timeout
    # A session-level advisory lock lives as long as this connection, so a killed process releases it.
    with engine.connect() as conn:
        while not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
            conn.rollback()
            if time.monotonic() >= deadline:
                raise _busy(name, timeout)
            time.sleep(POLL_SECONDS)
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()


def _lock_path(engine: Engine, name: str) -> Path:
    database = engine.url.database or ""
    if not database or database == ":memory:":
        return Path(f"/tmp/bookctl-{os.getuid()}-{name}.lock")
    return Path(f"{database}.{name}.lock")


@contextmanager
def _flock(path: Path, name: str, timeout: float) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    # flock is released by the kernel when the process dies, so a kill -9 never leaves a stale lock.
    with open(path, "a+") as fh:
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise _busy(name, timeout) from None
                time.sleep(POLL_SECONDS)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
