"""Personalization benchmark (not part of the test suite).

1. Cached path under load: `wrk` at 64 connections against `bookctl serve` (one uvicorn process, SQLite), POST
   /api/personalize for a variant already in the cache, next to GET /api/content/book in the same run. The
   LLM is the fake OpenAI-compatible server (tests/fakes) on loopback; the run asserts it got no call under load.
2. Pre-generation: the robotics book x 8 profiles (programming experience x language) with the fake LLM at a
   fixed latency per call, `BoundedGenerator` at N calls in flight, against the ideal calls x latency / N.

    .venv/bin/python bench/personalize_bench.py [--duration 4] [--latency 0.05] [--concurrency 8]

`main()` returns the body of the `## Personalization` section (bench/run.py writes it into BENCHMARKS.md);
run directly, it writes the section itself.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import serve, wrk  # noqa: E402  (bench/ is a folder of scripts, not a package)

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
BOOK = REPO.parent / "shared" / "fixtures" / "robotics-book"
OUT = REPO / "BENCHMARKS.md"
SECTION = "Personalization"
CONNECTIONS = 64
LESSON = "what-is-physical-ai/lesson-embodiment-hypothesis"
PROFILES = "matrix:programming_experience=none,beginner,intermediate,advanced;preferred_language=en,ur"



def _env(root: Path, llm_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "BOOKCTL_DATA_DIR": str(root / ".bookctl"), "BOOKCTL_STORAGE_URL": f"file://{root / 'storage'}",
        "BOOKCTL_BOOK": str(root / "book"), "BOOKCTL_DATABASE_URL": f"sqlite:///{root / 'bench.db'}",
        "BOOKCTL_SECRET_KEY": "bench-secret-key-0123456789abcdefghijkl", "OPENAI_BASE_URL": llm_url,
        "OPENAI_API_KEY": "bench", "BOOKCTL_PERSONALIZE_MISS_LIMIT": "0",
    })
    return env


def bench_cached_path(duration: int) -> dict:
    import httpx

    from tests.fakes.openai_server import FakeOpenAI, PersonalizeFake

    root = Path(tempfile.mkdtemp(prefix="bookctl-pbench-"))
    llm = FakeOpenAI().start()
    llm.chat = PersonalizeFake()
    try:
        shutil.copytree(BOOK, root / "book", ignore=shutil.ignore_patterns("contract"))
        env = _env(root, llm.base_url)
        py = sys.executable
        subprocess.run([py, "-m", "bookctl", "db", "upgrade"], env=env, cwd=root, check=True, capture_output=True)
        subprocess.run([py, "-m", "bookctl", "sync", "--json"], env=env, cwd=root, check=True, capture_output=True)
        with serve(env, root) as base:
            token = httpx.post(base + "/api/user/create", json={}).json()["token"]
            auth = {"Authorization": f"Bearer {token}"}
            httpx.post(base + "/api/onboarding", headers=auth, json={
                "education_level": "undergraduate", "programming_experience": "beginner", "robotics_background": False,
                "ai_ml_experience": "basic", "learning_goals": ["hobby"]}).raise_for_status()
            first = httpx.post(base + "/api/personalize", headers=auth, json={"lesson_slug": LESSON}, timeout=60)
            first.raise_for_status()
            assert first.json()["cached"] is False
            calls_before = len(llm.calls_to("/v1/chat/completions"))
            script = root / "personalize.lua"
            script.write_text('wrk.method = "POST"\n'
                              f'wrk.body = \'{{"lesson_slug": "{LESSON}", "original_content": "ignored"}}\'\n'
                              'wrk.headers["Content-Type"] = "application/json"\n'
                              f'wrk.headers["Authorization"] = "Bearer {token}"\n')
            wrk(base + "/api/content/book", 1)
            wrk(base + "/api/personalize", 1, script=script)
            results = {
                "GET /api/content/book": wrk(base + "/api/content/book", duration),
                "POST /api/personalize (cached)": wrk(base + "/api/personalize", duration, script=script),
            }
            results["llm_calls_under_load"] = len(llm.calls_to("/v1/chat/completions")) - calls_before
            results["first_miss_calls"] = calls_before
            return results
    finally:
        llm.stop()
        shutil.rmtree(root, ignore_errors=True)


class _FakeProcess:
    """The fake OpenAI server in its own process, so its CPU does not share the GIL with the code measured."""

    def __init__(self, latency: float) -> None:
        code = ("import sys, time; sys.path.insert(0, %r)\n"
                "from tests.fakes.openai_server import FakeOpenAI, PersonalizeFake\n"
                "s = FakeOpenAI(latency=%r).start(); s.chat = PersonalizeFake()\n"
                "print(s.base_url, flush=True)\n"
                "sys.stdin.read()\n") % (str(REPO), latency)
        self.proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        self.base_url = self.proc.stdout.readline().strip()

    def stop(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def bench_pregeneration(latency: float, concurrency: int) -> dict:
    from bookctl.config import load_settings
    from bookctl.curriculum import parse_book
    from bookctl.db.engine import make_engine
    from bookctl.db.migrate import upgrade
    from bookctl.llm.generate import OpenAIGenerator
    from bookctl.llm.retry import RetryPolicy
    from bookctl.personalization.plan import make_plan
    from bookctl.personalization.pregenerate import BoundedGenerator, run
    from bookctl.personalization.service import PersonalizationService
    from bookctl.pipeline.sync import run_sync
    from bookctl.runtime import Runtime
    root = Path(tempfile.mkdtemp(prefix="bookctl-pgen-"))
    llm = _FakeProcess(latency)
    try:
        shutil.copytree(BOOK, root / "book", ignore=shutil.ignore_patterns("contract"))
        settings = load_settings({k: v for k, v in _env(root, llm.base_url).items() if k.startswith(("BOOKCTL_", "OPENAI_"))})
        engine = make_engine(settings.database_url)
        upgrade(engine, settings.database_url)
        engine.dispose()
        runtime = Runtime.open(settings)
        parsed, warnings = parse_book(settings.book_dir, settings.route_base, None)
        run_sync(runtime, parsed, warnings=warnings)
        generator = OpenAIGenerator(model="gpt-4o-mini", base_url=llm.base_url, api_key="bench", timeout=30,
                                    retry=RetryPolicy(attempts=2, base_delay=0.01))
        bounded = BoundedGenerator(generator, concurrency)
        service = PersonalizationService(runtime.sessions, runtime.store, bounded, concurrency=concurrency)
        plan = make_plan(runtime, service, PROFILES, None, estimate=False)
        started = time.perf_counter()
        result = run(service, plan, concurrency=concurrency)
        seconds = time.perf_counter() - started
        calls = bounded.calls
        rerun_plan = make_plan(runtime, service, PROFILES, None, estimate=False)
        before = bounded.calls
        run(service, rerun_plan, concurrency=concurrency)
        runtime.close()
        ideal = calls * latency / concurrency
        return {"lessons": len(plan.lessons), "profiles": len(plan.profiles), "variants": len(plan.items),
                "generated": result["generated"], "failed": len(result["failed"]), "calls": calls,
                "seconds": seconds, "ideal": ideal, "serial": calls * latency, "rerun_calls": bounded.calls - before,
                "latency": latency, "concurrency": concurrency}
    finally:
        llm.stop()
        shutil.rmtree(root, ignore_errors=True)


def render(cached: dict, pregen: dict, duration: int) -> str:
    book = cached["GET /api/content/book"]
    pers = cached["POST /api/personalize (cached)"]
    lines = [
        f"`bench/personalize_bench.py`. **Cached path**: wrk, {CONNECTIONS} connections, 2 threads, {duration} s per "
        "endpoint, against `bookctl serve` (one uvicorn process, SQLite) on the robotics book, the fake "
        "OpenAI-compatible server standing in for the LLM; POST /api/personalize asks for a variant already in "
        "the cache (the request carries `original_content`, which is ignored).",
        "",
        "| endpoint | req/s | p50 (ms) | p99 (ms) | non-2xx |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in ("GET /api/content/book", "POST /api/personalize (cached)"):
        r = cached[name]
        lines.append(f"| {name} | {r['rps']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['non2xx']} |")
    lines += [
        "",
        f"Cached personalize vs book tree: {pers['rps'] / book['rps']:.0%} of the throughput, p99 "
        f"{pers['p99_ms'] / max(book['p99_ms'], 0.001):.1f}x. LLM calls during the load: "
        f"**{cached['llm_calls_under_load']}** (the first, uncached request made {cached['first_miss_calls']} "
        "section calls). SC-004 (cached content within 1 s): "
        + ("met" if pers["p99_ms"] < 1000 else "MISSED") + f" at p99 {pers['p99_ms']:.0f} ms under 64 concurrent clients.",
        "",
        f"**Pre-generation**: {pregen['lessons']} written lessons x {pregen['profiles']} profiles = "
        f"{pregen['variants']} variants, fake LLM at a fixed {pregen['latency'] * 1000:.0f} ms per call, "
        f"{pregen['concurrency']} calls in flight (long lessons are split into sections, so calls > variants); "
        "the fake runs in its own process.",
        "",
        "| variants generated | LLM calls | wall time | ideal (calls x latency / concurrency) | efficiency | serial (calls x latency) | re-run calls |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {pregen['generated']} | {pregen['calls']} | {pregen['seconds']:.2f} s | {pregen['ideal']:.2f} s | "
        f"{pregen['ideal'] / pregen['seconds']:.0%} | {pregen['serial']:.2f} s | {pregen['rerun_calls']} |",
        "",
        f"Machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> str:
    import logging

    logging.disable(logging.INFO)  # the HTTP client logs every request at INFO
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=4)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv if argv is not None else [])
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    pregen = bench_pregeneration(args.latency, args.concurrency)
    cached = bench_cached_path(args.duration)
    return render(cached, pregen, args.duration)


def _write(body: str) -> None:
    text = OUT.read_text(encoding="utf-8") if OUT.exists() else "# Benchmarks\n"
    block = f"## {SECTION}\n\n{body.strip()}\n\n"
    pattern = re.compile(rf"^## {SECTION}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _m: block, text, count=1) if pattern.search(text) else text.rstrip("\n") + "\n\n" + block
    OUT.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


if __name__ == "__main__":
    section = main(sys.argv[1:])
    _write(section)
    print(section)
