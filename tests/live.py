"""Real servers on 127.0.0.1 (random free port): a Litestar app under uvicorn in a thread (`LiveServer`), or
`bookctl serve` in its own process(es) (`bookctl_serve`, also used by the benchmarks)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """The app under a real uvicorn server on 127.0.0.1 (random free port), in a thread."""

    def __init__(self, app) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    access_log=False, lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.server.started:
                try:
                    if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
            time.sleep(0.02)
        raise RuntimeError("uvicorn did not start")

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def wait_for_http(url: str, proc: subprocess.Popen, timeout: float, what: str, *, any_status: bool = False) -> None:
    """Poll `url` until it answers 200 (any HTTP answer with `any_status`) while `proc` runs; a bounded wait.
    Fails with what happened: the process exited (and its stderr's tail, when piped) or the time ran out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200 or any_status:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            stderr = proc.stderr.read() if proc.stderr is not None else ""
            tail = (stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr or "")[-3000:]
            raise RuntimeError(f"{what} exited with {proc.returncode} before answering {url}\n{tail}")
        if time.monotonic() > deadline:  # generous: N workers import the app at once on a loaded 2-core machine
            raise RuntimeError(f"{what} did not answer {url} within {timeout:g} s")
        time.sleep(0.1)


@contextmanager
def bookctl_serve(env: dict[str, str], cwd: Path, *, workers: int = 1, timeout: float = 90.0) -> Iterator[str]:
    """`bookctl serve` as a subprocess on a free port; yields its base URL once /healthz answers, stops it after."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "bookctl", "serve", "--port", str(port), "--workers", str(workers),
                             "--no-access-log", "--log-level", "warning"], env=env, cwd=cwd)
    try:
        wait_for_http(base + "/healthz", proc, timeout, "bookctl serve")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
