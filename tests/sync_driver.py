"""Run one sync in a real process and misbehave on purpose at a chosen point (no hooks in production code).

    python tests/sync_driver.py kill-after-mark       # SIGKILL itself once `sync_state.dirty` is committed
    python tests/sync_driver.py kill-in-put N         # ... inside the N-th upload, before it writes
    python tests/sync_driver.py kill-after-upload N   # ... right after the N-th upload
    python tests/sync_driver.py kill-before-commit    # ... as the sync transaction is about to commit
    python tests/sync_driver.py kill-after-commit     # ... after the commit, before stale objects are deleted
    python tests/sync_driver.py kill-in-sweep         # ... after the sweep deleted its first object
    python tests/sync_driver.py kill-after-sweep      # ... after the sweep, before the sync_state is cleaned
    python tests/sync_driver.py slow LOG              # a normal sync, slowed per upload, logging lock enter/exit
    python tests/sync_driver.py hold SECONDS          # take the sync lock, print "locked", hold it

Configuration comes from the environment, exactly as for `bookctl sync`.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from contextlib import contextmanager


def die(*_args, **_kwargs) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main(argv: list[str]) -> int:
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from bookctl.config import load_settings
    from bookctl.curriculum import parse_book
    from bookctl.pipeline import lock
    from bookctl.pipeline import sync as sync_module
    from bookctl.pipeline.sync import run_sync
    from bookctl.runtime import Runtime

    mode = argv[0]
    settings = load_settings()
    book, warnings = parse_book(settings.book_dir, settings.route_base)
    runtime = Runtime.open(settings)
    on_upload = None

    if mode == "kill-after-upload":
        n = int(argv[1])

        def on_upload(done: int, total: int) -> None:
            if done >= n:
                die()
    elif mode == "kill-after-mark":
        event.listen(Session, "after_commit", die)  # the first Session commit of a sync marks it dirty
    elif mode == "kill-in-put":
        n, calls, put = int(argv[1]), [], runtime.store.put

        def put_or_die(key: str, data: bytes) -> None:
            calls.append(key)
            if len(calls) >= n:
                die()
            put(key, data)

        runtime.store.put = put_or_die  # type: ignore[method-assign]
    elif mode in ("kill-before-commit", "kill-after-commit"):
        # the sync's own transaction: the commit right after `sync()` has returned
        inner_sync, synced = sync_module.sync, []

        def marked(*args, **kwargs):
            result = inner_sync(*args, **kwargs)
            synced.append(True)
            return result

        sync_module.sync = marked
        event.listen(Session, "before_commit" if mode == "kill-before-commit" else "after_commit",
                     lambda *_a: die() if synced else None)
    elif mode in ("kill-in-sweep", "kill-after-sweep"):
        delete_many = runtime.store.delete_many

        def delete_then_die(keys) -> int:
            keys = list(keys)
            delete_many(keys[:1] if mode == "kill-in-sweep" else keys)
            die()
            return 0

        runtime.store.delete_many = delete_then_die  # type: ignore[method-assign]
    elif mode == "slow":
        log = argv[1]
        inner = lock.exclusive

        @contextmanager
        def logged(engine, name, timeout):
            with inner(engine, name, timeout):
                _append(log, f"enter {os.getpid()}")
                yield
                _append(log, f"exit {os.getpid()}")

        lock.exclusive = logged

        def on_upload(done: int, total: int) -> None:
            time.sleep(0.02)
    elif mode == "hold":
        with lock.exclusive(runtime.engine, "sync", 5):
            print("locked", flush=True)
            time.sleep(float(argv[1]))
        return 0
    else:
        print(__doc__, file=sys.stderr)
        return 2

    try:
        result = run_sync(runtime, book, warnings=warnings, on_upload=on_upload)
    finally:
        runtime.close()
    print(f"uploaded {result.uploaded}", flush=True)
    return 0


def _append(path: str, line: str) -> None:
    with open(path, "a") as fh:
        fh.write(line + "\n")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
