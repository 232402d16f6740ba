"""Run one sync in a real process and misbehave on purpose at a chosen point (no hooks in production code).

    python tests/sync_driver.py kill-after-upload N   # SIGKILL itself right after the N-th upload
    python tests/sync_driver.py kill-before-commit    # ... as the sync transaction is about to commit
    python tests/sync_driver.py kill-after-commit     # ... after the commit, before the orphan sweep
    python tests/sync_driver.py kill-in-sweep         # ... after the sweep deleted its first object
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
    elif mode == "kill-before-commit":
        event.listen(Session, "before_commit", die)
    elif mode == "kill-after-commit":
        event.listen(Session, "after_commit", die)
    elif mode == "kill-in-sweep":
        delete = runtime.store.delete

        def delete_then_die(key: str) -> None:
            delete(key)
            die()

        runtime.store.delete = delete_then_die  # type: ignore[method-assign]
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

    result = run_sync(runtime, book, warnings=warnings, on_upload=on_upload)
    print(f"uploaded {result.uploaded}", flush=True)
    return 0


def _append(path: str, line: str) -> None:
    with open(path, "a") as fh:
        fh.write(line + "\n")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
