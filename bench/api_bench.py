"""API benchmark: `wrk` at 64 connections against `bookctl serve` (uvicorn, one process) on SQLite and PostgreSQL.

Endpoints: the framework ceiling (`/healthz`, a constant response in the same app), the book tree, recommendations
and a progress write (`PUT .../time`). Reports req/s and p99, and the book tree's throughput as a share of the
ceiling. Writes only the `## API` section of BENCHMARKS.md (replacing it if present). Not part of the test suite.

    .venv/bin/python bench/api_bench.py [--duration 3] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import postgres, serve, wrk  # noqa: E402  (bench/ is a folder of scripts, not a package)

REPO = Path(__file__).resolve().parents[1]
BOOK = REPO.parent / "shared" / "fixtures" / "robotics-book"
OUT = REPO / "BENCHMARKS.md"
CONNECTIONS = 64
LESSON = "what-is-physical-ai/lesson-embodiment-hypothesis"
TARGET_SHARE, TARGET_P99_MS = 0.5, 20.0


def _env(root: Path, db_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "BOOKCTL_DATA_DIR": str(root / ".bookctl"), "BOOKCTL_STORAGE_URL": f"file://{root / 'storage'}",
        "BOOKCTL_BOOK": str(root / "book"), "BOOKCTL_DATABASE_URL": db_url,
        "BOOKCTL_SECRET_KEY": "bench-secret-key-0123456789abcdefghijkl",
    })
    return env


def median_of(runs: int, measure) -> dict:
    """The run with the median req/s of `runs` wrk runs (its p99 with it): this 2-core VM's neighbours move a
    single run by tens of percent."""
    results = sorted((measure() for _ in range(runs)), key=lambda r: r["rps"])
    return {**results[len(results) // 2], "runs": runs}


def bench_dialect(dialect: str, duration: int, workers: int = 1, runs: int = 3) -> dict[str, dict]:
    root = Path(tempfile.mkdtemp(prefix=f"bookctl-apibench-{dialect}-"))
    server = None
    try:
        shutil.copytree(BOOK, root / "book", ignore=shutil.ignore_patterns("contract"))
        db_url = f"sqlite:///{root / 'bench.db'}"
        if dialect == "postgresql":
            db_url, server = postgres(root)
        env = _env(root, db_url)
        py = sys.executable
        from bookctl.db.engine import make_engine
        from bookctl.db.migrate import upgrade

        engine = make_engine(db_url)
        upgrade(engine, db_url)
        engine.dispose()
        subprocess.run([py, "-m", "bookctl", "sync", "--json"], env=env, cwd=root, check=True, capture_output=True)
        with serve(env, root, workers=workers) as base:
            created = httpx.post(base + "/api/user/create", json={}).json()
            auth = {"Authorization": f"Bearer {created['token']}"}
            httpx.post(base + "/api/onboarding", headers=auth, json={
                "education_level": "undergraduate", "programming_experience": "beginner", "robotics_background": False,
                "ai_ml_experience": "basic", "learning_goals": ["building_projects"]}).raise_for_status()
            httpx.post(f"{base}/api/progress/lessons/{LESSON}/complete", headers=auth).raise_for_status()
            script = root / "put_time.lua"
            script.write_text('wrk.method = "PUT"\nwrk.body = \'{"seconds": 1}\'\n'
                              'wrk.headers["Content-Type"] = "application/json"\n'
                              f'wrk.headers["Authorization"] = "{auth["Authorization"]}"\n')
            # warm-up (connections, caches, JIT-free but import-heavy first requests)
            wrk(base + "/api/content/book", 1)
            results = {
                "ceiling (GET /healthz)": median_of(runs, lambda: wrk(base + "/healthz", duration)),
                "GET /api/content/book": median_of(runs, lambda: wrk(base + "/api/content/book", duration)),
                "GET /api/progress/recommendations": median_of(runs, lambda: wrk(
                    base + "/api/progress/recommendations", duration, headers=auth)),
                "PUT /api/progress/lessons/{slug}/time": median_of(runs, lambda: wrk(
                    f"{base}/api/progress/lessons/what-is-physical-ai/lesson-digital-vs-physical-ai/time", duration,
                    script=script)),
            }
            return results
    finally:
        if server is not None:
            server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


def render(all_results: dict[str, dict[str, dict]], duration: int, runs: int) -> str:
    lines = [
        "## API",
        "",
        f"`bench/api_bench.py`: wrk, {CONNECTIONS} connections, 2 threads, {duration} s per run, the median of "
        f"{runs} runs per endpoint (by req/s), against "
        "`bookctl serve` (one uvicorn process, then `--workers 2`) on the robotics book; the ceiling is `/healthz`, a constant "
        "response from the same app in the same run. Targets: book tree >= 50% of the ceiling's throughput, "
        "p99 <= 20 ms.",
        "",
        "| database, workers | endpoint | req/s | p99 (ms) | share of ceiling | non-2xx |",
        "|---|---|---:|---:|---:|---:|",
    ]
    verdicts = []
    for dialect, results in all_results.items():
        ceiling = results["ceiling (GET /healthz)"]["rps"]
        for name, r in results.items():
            lines.append(f"| {dialect} | {name} | {r['rps']:.0f} | {r['p99_ms']:.1f} | "
                         f"{r['rps'] / ceiling:.0%} | {r['non2xx']} |")
            if r["p99_ms"] > TARGET_P99_MS:
                verdicts.append(f"{dialect} {name}: p99 {r['p99_ms']:.1f} ms is above {TARGET_P99_MS:.0f} ms")
        share = results["GET /api/content/book"]["rps"] / ceiling
        if share < TARGET_SHARE:
            verdicts.append(f"{dialect} book tree: {share:.0%} of the ceiling, below {TARGET_SHARE:.0%}")
    lines += ["", "Targets: " + ("all met." if not verdicts else "missed: " + "; ".join(verdicts) + "."), ""]
    floor = CONNECTIONS / (TARGET_P99_MS / 1000)
    lines += [f"Reading the p99s: with {CONNECTIONS} connections always busy, the mean latency is connections / "
              f"throughput (Little's law), so a p99 <= {TARGET_P99_MS:.0f} ms needs well over {floor:,.0f} req/s "
              "from the endpoint; on this machine wrk shares the 2 cores with the server, and only the constant "
              "ceiling and the cached book tree get there. The database endpoints are bound by CPU per request: "
              "besides the service's own work (its queries and Python), it goes to the framework, the hop to "
              "a worker thread and, on PostgreSQL, the driver's round trips (pre-ping, queries, COMMIT) and the "
              "commit's fsync for writes.", ""]
    lines.append(f"Machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
                 f"measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.")
    return "\n".join(lines) + "\n"


def write_section(section: str) -> None:
    text = OUT.read_text(encoding="utf-8") if OUT.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## API\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    OUT.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3, help="wrk runs per endpoint; the median is reported")
    parser.add_argument("--dialects", default="sqlite,postgresql")
    args = parser.parse_args(argv if argv is not None else [])
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    results = {f"{d}, {w} worker{'s' if w > 1 else ''}": bench_dialect(d, args.duration, w, args.runs)
               for d in args.dialects.split(",") for w in (1, 2)}
    section = render(results, args.duration, args.runs)
    write_section(section)
    print(section)
    return section


if __name__ == "__main__":
    main(sys.argv[1:])
