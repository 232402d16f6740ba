"""Issue 14, item 4: does async psycopg on the event loop beat threads for the progress write and a read?

One uvicorn process serves bookctl's API and, beside it, the same PUT …/time write and GET …/lessons/{slug}
read done with psycopg's AsyncConnectionPool on the event loop (bench/async_progress_app.py: same token check,
same snapshot, same statement, same response). wrk (64 connections) alternates between the thread version (the
real route) and the async one, run by run, on embedded PostgreSQL; the server's CPU per request comes from /proc.

    python bench/run.py api_async
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from api_writes_bench import LESSON, _prepare, _server_cpu, _setup  # noqa: E402
from common import postgres, wrk  # noqa: E402

SECTION = "Progress endpoints: threads vs async psycopg (issue 14)"
RUNS = int(os.environ.get("BOOKCTL_BENCH_RUNS", "3"))
DURATION = int(os.environ.get("BOOKCTL_BENCH_DURATION", "3"))
TIMED = "what-is-physical-ai/lesson-digital-vs-physical-ai"


@contextlib.contextmanager
def _serve(env: dict[str, str], cwd: Path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, str(BENCH / "async_progress_app.py"), str(port)], env=env, cwd=cwd)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the bench app did not start")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> str:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    root = Path(tempfile.mkdtemp(prefix="bookctl-api-async-"))
    server = None
    try:
        admin_url, server = postgres(root)
        env = _setup(root, "app", admin_url, None)
        with _serve(env, root / "app") as base:
            auth, scripts = _prepare(base, root)
            put_script = Path(scripts.split("|")[0])
            for path in (f"/api/progress/lessons/{TIMED}/time", f"/bench/async/time/{TIMED}",
                         f"/bench/threads/time/{TIMED}"):
                r = httpx.put(base + path, headers=auth, json={"seconds": 1})
                assert r.status_code == 200 and r.json()["status"] == "in_progress", r.text
            a = httpx.get(f"{base}/api/progress/lessons/{LESSON}", headers=auth).json()
            b = httpx.get(f"{base}/bench/async/lessons/{LESSON}", headers=auth).json()
            c = httpx.get(f"{base}/bench/threads/lessons/{LESSON}", headers=auth).json()
            assert a == b == c, (a, b, c)  # the versions answer alike
            wrk(base + "/api/content/book", 1)
            endpoints = {
                "PUT /api/progress/lessons/{slug}/time": {
                    "threads": lambda: wrk(f"{base}/api/progress/lessons/{TIMED}/time", DURATION, script=put_script),
                    "async": lambda: wrk(f"{base}/bench/async/time/{TIMED}", DURATION, script=put_script),
                    "plain": lambda: wrk(f"{base}/bench/threads/time/{TIMED}", DURATION, script=put_script)},
                "GET /api/progress/lessons/{slug}": {
                    "threads": lambda: wrk(f"{base}/api/progress/lessons/{LESSON}", DURATION, headers=auth),
                    "async": lambda: wrk(f"{base}/bench/async/lessons/{LESSON}", DURATION, headers=auth),
                    "plain": lambda: wrk(f"{base}/bench/threads/lessons/{LESSON}", DURATION, headers=auth)},
            }
            rows = []
            for label, runs in endpoints.items():
                got: dict[str, list[dict]] = {"threads": [], "async": [], "plain": []}
                for _ in range(RUNS):
                    for name, run in runs.items():
                        cpu = _server_cpu(base)
                        result = run()
                        result["cpu_ms"] = (_server_cpu(base) - cpu) * 1000 / max(1.0, result["rps"] * DURATION)
                        got[name].append(result)
                med = {k: sorted(v, key=lambda r: r["rps"])[len(v) // 2] for k, v in got.items()}
                cpu = {k: sorted(r["cpu_ms"] for r in v)[len(v) // 2] for k, v in got.items()}
                for name, title in (("threads", "threads, SQLAlchemy session (today)"),
                                    ("plain", "threads, plain psycopg pool"), ("async", "event loop, async psycopg pool")):
                    rows.append(f"| {label} | {title} | {med[name]['rps']:.0f} | "
                                f"{med[name]['rps'] / med['threads']['rps']:.2f}x | {cpu[name]:.2f} | "
                                f"{cpu['threads'] / cpu[name]:.2f}x | {med[name]['p99_ms']:.0f} | "
                                f"{sum(r['non2xx'] for r in got[name])} |")
    finally:
        if server is not None:
            server.cleanup()
        shutil.rmtree(root, ignore_errors=True)
    return "\n".join([
        f"`bench/api_async_bench.py`: one uvicorn process, embedded PostgreSQL; the real route (sync handler in "
        "Litestar's worker threads, SQLAlchemy session, autocommit upsert) against the same work as a coroutine on "
        "psycopg's AsyncConnectionPool (`bench/async_progress_app.py`; same token check, snapshot, statement and "
        f"response; pools of 5-15 connections on each side), and, to tell \"async\" from \"no ORM session\", the "
        f"same plain-psycopg work in the worker threads (psycopg_pool.ConnectionPool). wrk 64 connections, {DURATION} s per run, median of "
        f"{RUNS} runs, the three alternating. Load average at the end: {os.getloadavg()[0]:.1f} on 2 CPUs shared "
        "with other jobs, so server CPU per request is the steadier figure.",
        "",
        "| endpoint | variant | req/s | req/s vs today | server CPU ms per request | CPU saved vs today | p99 ms | non-2xx |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"Machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
    ])


if __name__ == "__main__":
    print(main())
