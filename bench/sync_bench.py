"""Sync benchmark: a generated book of 1,000 lessons (~5 KB each) on SQLite and PostgreSQL.

Every number is the wall time of a real subprocess (`python -m bookctl sync --json`), as an editor or a
CI job sees it. In the same run, on the same files, the baseline: one subprocess that reads and
SHA-256-hashes every lesson file, and bare interpreter start-up (`python -c pass`).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import postgres  # noqa: E402  (bench/ is a folder of scripts, not a package)

SECTION = "Sync"
PARTS, CHAPTERS_PER_PART, LESSONS_PER_CHAPTER = 5, 10, 20  # 1,000 lessons
LESSON_BYTES = 5_000
REPEAT = 5
PY = sys.executable

HASH_FILES = """
import hashlib, os, sys

n = 0
for dirpath, _dirs, files in os.walk(sys.argv[1]):
    for name in files:
        if name.endswith('.md'):
            with open(os.path.join(dirpath, name), 'rb') as fh:
                hashlib.sha256(fh.read()).hexdigest()
            n += 1
print(n)
"""


def generate_book(root: Path) -> int:
    """Write curriculum.md and the docs/ tree; returns the number of lesson files."""
    outline = ["# Benchmark Book", ""]
    filler = ("Robots sense, plan and act. " * 400)[: LESSON_BYTES - 200]
    count = 0
    chapter_number = 0
    for p in range(1, PARTS + 1):
        part_folder = f"{p:02d}-part-{p}"
        outline += [f"## Part {p} — Part {p} (Weeks {p}-{p})", "**Tier:** B1", "**Layer:** L2",
                    f"**Folder:** `{part_folder}/`", ""]
        for _ in range(CHAPTERS_PER_PART):
            chapter_number += 1
            chapter_folder = f"{chapter_number:02d}-chapter-{chapter_number}"
            outline += [f"### Chapter {chapter_number}: Chapter {chapter_number}", f"**Folder:** `{chapter_folder}/`",
                        "", "**Lessons:**"]
            folder = root / "docs" / part_folder / chapter_folder
            folder.mkdir(parents=True)
            for n in range(1, LESSONS_PER_CHAPTER + 1):
                title = f"Lesson {chapter_number}.{n}"
                outline.append(f"- {title}")
                text = (f"---\ntitle: \"{title}\"\nsidebar_position: {n}\nlayer: L2\nestimated_minutes: 15\n"
                        f"tags: [bench]\n---\n\n# {title}\n\n{filler}\n")
                (folder / f"{n:02d}-lesson-{n}.md").write_text(text, encoding="utf-8")
                count += 1
            outline.append("")
    (root / "curriculum.md").write_text("\n".join(outline), encoding="utf-8")
    return count


CPU_SECONDS: dict[str, list[float]] = {}  # label -> CPU time (user + sys) of each run: robust on a busy machine


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], env: dict[str, str], cwd: Path, label: str = "") -> tuple[float, str]:
    cpu = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    CPU_SECONDS.setdefault(label, []).append(_children_cpu() - cpu)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    return elapsed, proc.stdout


def median_time(cmd: list[str], env: dict[str, str], cwd: Path, label: str, repeat: int = REPEAT) -> float:
    return statistics.median(timed(cmd, env, cwd, label)[0] for _ in range(repeat))


def cpu(label: str) -> float:
    return statistics.median(CPU_SECONDS[label])


def bench_dialect(name: str, book: Path, work: Path, database_url: str | None) -> dict[str, float | int]:
    work.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOOKCTL_", "DATABASE_URL"))}
    env.update({"BOOKCTL_BOOK": str(book), "BOOKCTL_DATA_DIR": str(work / ".bookctl"),
                "BOOKCTL_STORAGE_URL": f"file://{work / 'storage'}"})
    if database_url:
        env["BOOKCTL_DATABASE_URL"] = database_url
        timed([PY, "-m", "bookctl", "db", "upgrade"], env, work)  # not timed: a one-off per database
    sync = [PY, "-m", "bookctl", "sync", "--json"]
    cold, out = timed(sync, env, work, f"{name} cold")
    first = json.loads(out)
    assert first["uploaded"] == first["written"] == PARTS * CHAPTERS_PER_PART * LESSONS_PER_CHAPTER, first
    noop_runs = []
    for _ in range(REPEAT):
        seconds, out = timed(sync, env, work, f"{name} noop")
        data = json.loads(out)
        assert data["uploaded"] == 0 and data["unchanged"] == data["lessons"], data
        noop_runs.append(seconds)
    edit_runs = []
    for i in range(3):
        lesson = book / "docs/01-part-1/01-chapter-1" / f"{i + 1:02d}-lesson-{i + 1}.md"
        lesson.write_text(lesson.read_text(encoding="utf-8") + f"\nEdit {name} {i}.\n", encoding="utf-8")
        seconds, out = timed(sync, env, work, f"{name} edit")
        data = json.loads(out)
        assert data["uploaded"] == 1 and data["updated"] == 1, data
        edit_runs.append(seconds)
    return {"cold": cold, "noop": statistics.median(noop_runs), "edit": statistics.median(edit_runs),
            "noop_cpu": cpu(f"{name} noop"), "edit_cpu": cpu(f"{name} edit"),
            "noop_uploads": 0, "edit_uploads": 1}




def main() -> str:
    with tempfile.TemporaryDirectory(prefix="bookctl-bench-") as tmp_name:
        tmp = Path(tmp_name)
        book = tmp / "book"
        lessons = generate_book(book)
        size = sum(p.stat().st_size for p in (book / "docs").rglob("*.md"))

        startup = median_time([PY, "-c", "pass"], dict(os.environ), tmp, "startup")
        baseline = median_time([PY, "-c", HASH_FILES, str(book / "docs")], dict(os.environ), tmp, "baseline")

        results = {"SQLite": bench_dialect("sqlite", book, tmp / "sqlite", None)}
        pg_url, server = postgres(tmp)
        try:
            results["PostgreSQL"] = bench_dialect("postgresql", book, tmp / "pg", pg_url)
        finally:
            if server is not None:
                server.cleanup()

    load = os.getloadavg()[0]
    budget = 3 * baseline
    lines = [
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.machine()}. "
        f"Book: {lessons} generated lessons, {size / 1e6:.1f} MB ({size // lessons} bytes each), "
        f"{PARTS} parts x {CHAPTERS_PER_PART} chapters. Wall times of `python -m bookctl sync --json` subprocesses; "
        f"no-op and edit are medians of {REPEAT} and 3 runs. CPU = user + sys time of the same subprocesses, which "
        f"other load on the machine inflates less (1-minute load average at the end of this run: {load:.1f}).",
        "",
        f"Baseline, same run: interpreter start-up `python -c pass` **{startup * 1000:.0f} ms**; one subprocess that "
        f"reads + SHA-256-hashes the {lessons} files **{baseline * 1000:.0f} ms** (start-up included, so "
        f"{(baseline - startup) * 1000:.0f} ms of reading and hashing); CPU {cpu('startup') * 1000:.0f} ms and "
        f"{cpu('baseline') * 1000:.0f} ms.",
        "",
        "| | cold sync | no-op re-sync (CPU) | re-sync after 1 edit (CPU) | no-op / baseline | no-op uploads | edit uploads |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(f"| {name} | {r['cold'] * 1000:.0f} ms | {r['noop'] * 1000:.0f} ms ({r['noop_cpu'] * 1000:.0f} ms) | "
                     f"{r['edit'] * 1000:.0f} ms ({r['edit_cpu'] * 1000:.0f} ms) | "
                     f"{r['noop'] / baseline:.1f}x | {r['noop_uploads']} | {r['edit_uploads']} |")
    verdicts = []
    for name, r in results.items():
        verdicts.append(f"{name}: {r['noop'] * 1000:.0f} ms, within 1 s {'yes' if r['noop'] <= 1.0 else 'NO'}, "
                        f"{r['noop'] / baseline:.1f}x (read + hash + start-up), "
                        f"3x target {'met' if r['noop'] <= budget else 'NOT met'}")
    lines += ["", "How the no-op is answered: the full sync parses the book (YAML front matter of every file), imports "
              "SQLAlchemy and compares every row (about 0.8 s of CPU here). After each successful sync a *receipt* is "
              "recorded under the sync lock (`bookctl/pipeline/receipt.py`): a SHA-256 fingerprint of every input file "
              "and setting, a hash of the book's rows and the result. A re-sync recomputes the fingerprint (the "
              "baseline's work) and re-reads the rows with the plain driver (sqlite3 / psycopg); the receipt lives in the "
              "database (`sync_state`) and the store is not listed (the database is its manifest, issue 9); only "
              "when both match is it answered without parsing or the ORM, otherwise the full sync runs. The CLI "
              "checks the receipt before it even imports Typer (Typer 0.29 and the pydantic it loads cost ~40 ms to import "
              "and ~100 ms to parse options). What is left of the no-op: interpreter start-up and bookctl's settings (~40 ms), "
              "the fingerprint (~40-60 ms), the row read (~20-30 ms), and on PostgreSQL "
              "psycopg's import (~110 ms by `python -X importtime`, most of it loading libpq) and connecting. "
              "A re-sync after one edit takes the full path by design."]
    lines += ["", f"Target: no-op re-sync of 1,000 lessons within 1 s and within 3x the baseline plus interpreter "
                  f"start-up, i.e. 3 x the hashing subprocess (3 x {baseline * 1000:.0f} ms = {budget * 1000:.0f} ms), 0 uploads; one edit uploads exactly 1 "
                  "(asserted on every run above). " + "; ".join(verdicts) + "."]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main())
