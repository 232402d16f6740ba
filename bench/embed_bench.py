"""Local embedding throughput: bookctl's numpy all-MiniLM-L6-v2 vs sentence-transformers on torch (CPU), on
every chunk of the fixture book, with the machine as it is and with 2 busy background processes; and the first
`bookctl embed` of the fixture book end to end (sync first; an empty embedding cache).

Each embedder runs in its own subprocess (torch and OpenBLAS each start their own threads), interleaved
A B A B, with wall and CPU (user + sys of that process) reported; model loading is excluded from the
throughput (each process embeds two texts first), included in the first `embed`.

    python bench/run.py embed
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTION = "Local embeddings (issue 14)"
ROUNDS = int(os.environ.get("BOOKCTL_BENCH_EMBED_ROUNDS", "2"))

WORKER = r"""
import json, os, resource, sys, time
sys.path.insert(0, {root!r})
from tests.search.st_reference import fixture_chunk_texts
texts = fixture_chunk_texts()
kind = sys.argv[1]
if kind == "bookctl":
    from bookctl.llm.embedders import LocalEmbedder
    emb = LocalEmbedder(); run = lambda: emb.embed(texts)
    emb.embed(texts[:2])
else:
    import torch
    from sentence_transformers import SentenceTransformer
    from bookctl.llm.local_minilm import model_dir
    model = SentenceTransformer(str(model_dir()), device="cpu"); run = lambda: model.encode(texts, batch_size=32)
    model.encode(texts[:2])
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF); return r.ru_utime + r.ru_stime
c, w = cpu(), time.perf_counter()
run()
out = {{"wall": time.perf_counter() - w, "cpu": cpu() - c, "texts": len(texts)}}
if kind == "bookctl":
    from bookctl.llm.local_minilm import MiniLM
    out["choice"] = list(MiniLM.get().chooser.best)
else:
    out["threads"] = torch.get_num_threads()
print(json.dumps(out))
"""

BUSY = "import time\nend = time.time() + 3600\nwhile time.time() < end: pass\n"


def _run(kind: str) -> dict:
    code = WORKER.format(root=str(ROOT))
    done = subprocess.run([sys.executable, "-c", code, kind], capture_output=True, text=True, timeout=3600)
    if done.returncode:
        raise RuntimeError(f"{kind} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _pair(label: str) -> list[str]:
    runs: dict[str, list[dict]] = {"bookctl": [], "st": []}
    for _ in range(ROUNDS):
        for kind in ("bookctl", "st"):
            runs[kind].append(_run(kind))
            print(f"{label}: {kind} {runs[kind][-1]}", file=sys.stderr, flush=True)  # a long run shows its way
    best = {k: min(v, key=lambda r: r["wall"]) for k, v in runs.items()}
    med = {k: sorted(r["wall"] for r in v)[len(v) // 2] for k, v in runs.items()}
    ratio = best["st"]["wall"] / best["bookctl"]["wall"]
    cpu_ratio = best["st"]["cpu"] / best["bookctl"]["cpu"]
    n = best["bookctl"]["texts"]
    verdict = "meets" if ratio >= 1.5 else "MISSES"
    return [
        f"| {label} | bookctl (numpy, chose {best['bookctl']['choice'][0]} worker(s) x {best['bookctl']['choice'][1]} BLAS thread(s)) "
        f"| {best['bookctl']['wall']:.1f} s (median {med['bookctl']:.1f}) | {best['bookctl']['cpu']:.1f} s | {n / best['bookctl']['wall']:.1f} | |",
        f"| {label} | sentence-transformers (torch CPU, {best['st']['threads']} threads) | {best['st']['wall']:.1f} s "
        f"(median {med['st']:.1f}) | {best['st']['cpu']:.1f} s | {n / best['st']['wall']:.1f} | **{ratio:.2f}x** wall, "
        f"{cpu_ratio:.2f}x CPU ({verdict} >= 1.5x) |",
    ]


def _first_embed() -> tuple[float, float, dict]:
    """`bookctl sync` then a first `bookctl embed` of the fixture book (empty cache), as subprocesses."""
    book = ROOT.parent / "shared" / "fixtures" / "robotics-book"
    with tempfile.TemporaryDirectory(prefix="bookctl-embed-bench-") as tmp:
        env = {**os.environ, "BOOKCTL_DATA_DIR": f"{tmp}/data", "BOOKCTL_STORAGE_URL": f"file://{tmp}/store",
               "BOOKCTL_BOOK": str(book), "BOOKCTL_EMBEDDINGS": "local"}
        subprocess.run([sys.executable, "-m", "bookctl", "sync", "--json"], env=env, check=True, capture_output=True)
        before = os.times()
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "bookctl", "embed", "--json"], env=env, check=True,
                              capture_output=True, text=True)
        wall = time.perf_counter() - started
        after = os.times()
        return wall, (after.children_user - before.children_user) + (after.children_system - before.children_system), \
            json.loads(done.stdout)


def main() -> str:
    lines = ["| machine | embedder | wall (best of %d) | CPU | chunks/s | ratio (torch / bookctl) |" % ROUNDS,
             "|---|---|---:|---:|---:|---|"]
    load_before = os.getloadavg()[0]
    lines += _pair(f"as is (load {load_before:.1f})")
    busy = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(2)]
    try:
        time.sleep(1)
        load_busy = os.getloadavg()[0]
        lines += _pair(f"+2 busy processes (load {load_busy:.1f})")
        # the "first embed on a loaded 2-core machine": cold, with the two busy processes still running
        wall, cpu, first = _first_embed()
        print(f"first embed: {wall:.1f} s wall, {cpu:.1f} s CPU, {first}", file=sys.stderr, flush=True)
    finally:
        for p in busy:
            p.kill()
            p.wait()
    load_end = os.getloadavg()[0]
    return "\n".join([
        "`bench/embed_bench.py`: every chunk of the fixture book (the texts `bookctl embed` sends, 380 chunks, "
        "all-MiniLM-L6-v2), each embedder in its own process, interleaved, model load excluded. sentence-transformers "
        "truncates at 256 wordpieces, bookctl embeds longer chunks window by window (a few % more tokens), so the "
        "ratio slightly favours the peer. 'as is' is the shared machine at the time (other engineers' jobs running: "
        "not idle, the 1-minute load average is given).",
        "",
        *lines,
        "",
        f"First `bookctl embed` of the fixture book (after `sync`, empty embedding cache, a subprocess: start-up, "
        f"model load, chunking, embedding, writes; with the 2 busy processes still running): **{wall:.1f} s** wall, {cpu:.1f} s CPU, {first['chunks']} chunks, "
        f"{first['embedded']} embedded (load average {load_end:.1f}; target < 60 s on a loaded 2-core machine: "
        f"{'meets' if wall < 60 else 'MISSES'}).",
        "",
        "What bounds the ratio (profiles on one core, the first 120 fixture chunks, 14,567 wordpieces, CPU time, load "
        "~12): bookctl 5.46 s, of which the GEMMs are 77% (feed-forward 48%, QKV 17%, output 6%, attention 6%), GELU "
        "10%, softmax 6%, layer norm 2.5%, head transposes 2%; sentence-transformers 6.85 s, of which torch's profiler "
        "puts 74% in `addmm` and 13% in its fused attention, GELU 6%, copies 4%. The same GEMMs run at 88-100 GFLOP/s "
        "in numpy's OpenBLAS and 80-91 GFLOP/s in torch here (one thread, CPU time, these shapes), so both sit on the "
        "same floor: with every non-GEMM operation free, bookctl's CPU would be 4.2 s, 1.6x torch's, and what is left "
        "to gain in numpy (elementwise passes: GELU, softmax) is a few percent each. On CPU bookctl is ~1.25-1.5x "
        "torch; in wall time on a machine this busy, what decides is the share of the cores each process gets.",
        "",
        f"Machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
    ])


if __name__ == "__main__":
    print(main())
