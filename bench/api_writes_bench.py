"""Progress writes and the other endpoints, before (the revision this branch started from) and after issue 14:
no pool pre-ping, single-statement upserts in autocommit (1 round trip instead of 4 on PostgreSQL).

Both revisions serve at the same time (one uvicorn process each, their own database on the same server) and
wrk alternates between them endpoint by endpoint, run by run, so the machine's load hits both alike.

    python bench/run.py api_writes        # BOOKCTL_BENCH_BASE=<commit> to compare against another revision
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import postgres, serve, wrk  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BOOK = REPO.parent / "shared" / "fixtures" / "robotics-book"
SECTION = "Progress writes before and after (issue 14)"
BASE = os.environ.get("BOOKCTL_BENCH_BASE", "b86e0d8")
RUNS = int(os.environ.get("BOOKCTL_BENCH_RUNS", "3"))
DURATION = int(os.environ.get("BOOKCTL_BENCH_DURATION", "3"))
LESSON = "what-is-physical-ai/lesson-embodiment-hypothesis"


def _server_cpu(base: str) -> float:
    """CPU seconds (user + sys) the server listening at base has used: its process found by port (ss)."""
    port = base.rsplit(":", 1)[1]
    out = subprocess.run(["ss", "-Htlnp", f"sport = :{port}"], capture_output=True, text=True).stdout
    import re

    total = 0.0
    for pid in set(re.findall(r"pid=(\d+)", out)):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _tree(root: Path, rev: str) -> Path:
    """The package as it was at `rev` (git archive), importable through PYTHONPATH ahead of the editable install."""
    dst = root / f"src-{rev}"
    dst.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "bookctl"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dst)], input=archive, check=True)
    return dst


def _setup(root: Path, name: str, db_url: str, src: Path | None) -> dict[str, str]:
    work = root / name
    work.mkdir()
    shutil.copytree(BOOK, work / "book", ignore=shutil.ignore_patterns("contract"))
    env = dict(os.environ)
    env.update({"BOOKCTL_DATA_DIR": str(work / ".bookctl"), "BOOKCTL_STORAGE_URL": f"file://{work / 'storage'}",
                "BOOKCTL_BOOK": str(work / "book"), "BOOKCTL_DATABASE_URL": db_url,
                "BOOKCTL_SECRET_KEY": "bench-secret-key-0123456789abcdefghijkl"})
    if src is not None:
        env["PYTHONPATH"] = str(src)
    for args in (["db", "upgrade"], ["sync", "--json"]):
        subprocess.run([sys.executable, "-m", "bookctl", *args], env=env, cwd=work, check=True, capture_output=True)
    return env


def _prepare(base: str, root: Path) -> tuple[dict[str, str], str]:
    created = httpx.post(base + "/api/user/create", json={}).json()
    auth = {"Authorization": f"Bearer {created['token']}"}
    httpx.post(base + "/api/onboarding", headers=auth, json={
        "education_level": "undergraduate", "programming_experience": "beginner", "robotics_background": False,
        "ai_ml_experience": "basic", "learning_goals": ["building_projects"]}).raise_for_status()
    httpx.post(f"{base}/api/progress/lessons/{LESSON}/complete", headers=auth).raise_for_status()
    put = root / f"put-{abs(hash(base))}.lua"
    put.write_text('wrk.method = "PUT"\nwrk.body = \'{"seconds": 1}\'\nwrk.headers["Content-Type"] = "application/json"\n'
                   f'wrk.headers["Authorization"] = "{auth["Authorization"]}"\n')
    post = root / f"post-{abs(hash(base))}.lua"
    post.write_text(f'wrk.method = "POST"\nwrk.headers["Authorization"] = "{auth["Authorization"]}"\n')
    return auth, f"{put}|{post}"


def main() -> str:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    root = Path(tempfile.mkdtemp(prefix="bookctl-api-writes-"))
    server = None
    try:
        admin_url, server = postgres(root)
        import psycopg

        urls = {}
        with psycopg.connect("postgresql://" + admin_url.split("://", 1)[1], autocommit=True) as conn:
            for name in ("before", "after"):
                conn.execute(f"CREATE DATABASE bench_{name}")
                base, _, _db = admin_url.partition("?")[0].rpartition("/")
                query = admin_url.partition("?")[2]
                urls[name] = f"{base}/bench_{name}" + (f"?{query}" if query else "")
        envs = {"before": _setup(root, "before", urls["before"], _tree(root, BASE)),
                "after": _setup(root, "after", urls["after"], None)}
        with contextlib.ExitStack() as stack:
            bases = {name: stack.enter_context(serve(env, root / name, timeout=180)) for name, env in envs.items()}
            prepared = {name: _prepare(base, root) for name, base in bases.items()}
            for base in bases.values():
                wrk(base + "/api/content/book", 1)
            endpoints = {
                "PUT /api/progress/lessons/{slug}/time": lambda n: wrk(
                    f"{bases[n]}/api/progress/lessons/what-is-physical-ai/lesson-digital-vs-physical-ai/time", DURATION,
                    script=Path(prepared[n][1].split("|")[0])),
                "POST /api/progress/lessons/{slug}/start": lambda n: wrk(
                    f"{bases[n]}/api/progress/lessons/{LESSON}/start", DURATION, script=Path(prepared[n][1].split("|")[1])),
                "GET /api/progress/recommendations": lambda n: wrk(
                    f"{bases[n]}/api/progress/recommendations", DURATION, headers=prepared[n][0]),
                "GET /api/progress (summary)": lambda n: wrk(f"{bases[n]}/api/progress", DURATION,
                                                           headers=prepared[n][0]),
                "GET /api/content/book": lambda n: wrk(f"{bases[n]}/api/content/book", DURATION),
                "ceiling (GET /healthz)": lambda n: wrk(f"{bases[n]}/healthz", DURATION),
            }
            rows = []
            for label, run in endpoints.items():
                got: dict[str, list[dict]] = {"before": [], "after": []}
                for _ in range(RUNS):
                    for name in ("before", "after"):
                        cpu = _server_cpu(bases[name])
                        result = run(name)
                        used = _server_cpu(bases[name]) - cpu
                        result["cpu_ms"] = used * 1000 / max(1.0, result["rps"] * DURATION)
                        got[name].append(result)
                med = {k: sorted(v, key=lambda r: r["rps"])[len(v) // 2] for k, v in got.items()}
                bad = sum(r["non2xx"] for v in got.values() for r in v)
                ratio = med["after"]["rps"] / med["before"]["rps"]
                cpu = {k: sorted(r["cpu_ms"] for r in v)[len(v) // 2] for k, v in got.items()}
                rows.append(f"| {label} | {med['before']['rps']:.0f} | {med['after']['rps']:.0f} | {ratio:.2f}x | "
                            f"{cpu['before']:.2f} / {cpu['after']:.2f} | **{cpu['before'] / cpu['after']:.2f}x** | "
                            f"{med['before']['p99_ms']:.0f} / {med['after']['p99_ms']:.0f} | {bad} |")
    finally:
        if server is not None:
            server.cleanup()
        shutil.rmtree(root, ignore_errors=True)
    return "\n".join([
        f"`bench/api_writes_bench.py`: PostgreSQL (embedded), one uvicorn process per revision, both serving at once; "
        f"wrk 64 connections, {DURATION} s per run, median of {RUNS} runs by req/s, before/after alternating. "
        f"Before = `{BASE}` (pre-ping + BEGIN + upsert + COMMIT per write), after = this branch (upsert in autocommit: "
        f"one round trip). Load average at the end: {os.getloadavg()[0]:.1f} on 2 CPUs shared with other jobs: at that "
        "load req/s mostly measures the scheduler, so the server's own CPU time per request (from /proc, the median "
        "run) is the figure to read.",
        "",
        "| endpoint | before req/s | after req/s | after / before | server CPU ms per request, before / after | "
        "CPU before / after | p99 ms before / after | non-2xx |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"Machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
    ])


if __name__ == "__main__":
    print(main())
