"""Chunking beside its peers: LangChain (header + recursive splitter), chonkie's RecursiveChunker (markdown rules
built in code: its recipe download fails offline) and semchunk, on the same corpus and bound as the search
benchmark's chunking section, every token cache off (semchunk memoize=False; each chunker built once), wall and
CPU, best of 5, interleaved. Chunks over the bound are counted with tiktoken on what each would embed.

The peers do less: chonkie and semchunk make no overlap and merge sections up to the bound (so ~4x fewer
chunks, no heading paths); LangChain and bookctl both cut at headings with 15% overlap (the same chunk count);
only bookctl removes MDX syntax, keeps fences whole and puts the heading path in the counted text.

    python bench/run.py chunk_peers
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search_bench import BOUND, corpus  # noqa: E402

SECTION = "Chunking beside its peers (issue 14)"
ROUNDS = 5


def main() -> str:
    from chonkie import RecursiveChunker, RecursiveLevel, RecursiveRules
    from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter
    import semchunk

    from bookctl.llm.tokens import get_encoding
    from bookctl.pipeline.chunk import Chunker, strip_front_matter

    enc = get_encoding("cl100k_base")
    docs = corpus() * 5
    size = sum(len(t.encode()) for _, t in docs)
    ours = Chunker(max_tokens=BOUND)
    headers = [("#", "h1"), ("##", "h2"), ("###", "h3"), ("####", "h4")]
    md_split = MarkdownHeaderTextSplitter(headers_to_split_on=headers, strip_headers=False)
    rec = RecursiveCharacterTextSplitter.from_tiktoken_encoder(encoding_name="cl100k_base", chunk_size=BOUND,
                                                               chunk_overlap=int(BOUND * 0.15))
    markdown_rules = RecursiveRules([  # chonkie's "markdown" recipe, written out
        RecursiveLevel(delimiters=["\n# ", "\n## ", "\n### ", "\n#### "], include_delim="next"),
        RecursiveLevel(delimiters=["```\n"], include_delim="prev"),
        RecursiveLevel(delimiters=["\n\n"]),
        RecursiveLevel(delimiters=["\n"]),
        RecursiveLevel(delimiters=[". ", "! ", "? "]),
        RecursiveLevel(whitespace=True),
        RecursiveLevel(),
    ])
    chonk = RecursiveChunker(tokenizer=enc, chunk_size=BOUND, rules=markdown_rules)
    sem = semchunk.chunkerify(enc, BOUND, memoize=False)
    bodies = [strip_front_matter(t) for _, t in docs]

    def chonkie_chunk(body: str):
        # chonkie keeps every text it counted in an lru_cache (4,096 entries, shared by its instances): with the
        # corpus repeated x5 and best of 3, later documents and runs were read from it (13 ms CPU for 1.28 MB,
        # less than one tiktoken pass). Cleared per document, as semchunk's memoize=False: every count is made.
        RecursiveChunker._estimate_token_count.cache_clear()
        return chonk.chunk(body)

    runners = {
        "bookctl (heading paths, fence-safe, 15% overlap)": lambda: [c.embed_text for n, t in docs for c in ours.chunk(t, n)],
        "LangChain MarkdownHeaderTextSplitter + RecursiveCharacterTextSplitter (15% overlap)": lambda: [
            d.page_content for b in bodies for d in rec.split_documents(md_split.split_text(b))],
        "chonkie RecursiveChunker, markdown rules (no overlap)": lambda: [c.text for b in bodies for c in chonkie_chunk(b)],
        "semchunk (no overlap, memoize off)": lambda: [c for b in bodies for c in sem(b)],
    }
    best: dict[str, tuple[float, float, list[str]]] = {}
    for _ in range(ROUNDS):
        for name, run in runners.items():
            wall, cpu, out = _timed(run)
            if name not in best:
                best[name] = (wall, cpu, out)
            else:  # the best wall and the best CPU of the rounds (each its own minimum: the load moves)
                best[name] = (min(wall, best[name][0]), min(cpu, best[name][1]), out)
    ref = best[next(iter(runners))][0]
    floors = [_timed(lambda: [enc.encode_ordinary(b) for b in bodies]) for _ in range(ROUNDS)]
    floor = (min(f[0] for f in floors), min(f[1] for f in floors))
    lines = [f"Corpus: {len(docs)} documents, {size / 1e6:.2f} MB (the search benchmark's), bound {BOUND} cl100k tokens. "
             f"Best of {ROUNDS} rounds (wall and CPU each), interleaved; load average at the end {os.getloadavg()[0]:.1f} on 2 CPUs shared with other jobs.",
             "", "| chunker | wall | CPU | chunks | over the bound | bookctl's speed vs it (wall, CPU) |",
             "|---|---:|---:|---:|---:|---:|"]
    ref_cpu = best[next(iter(runners))][1]
    for name, (wall, cpu, out) in best.items():
        over = sum(1 for t in out if len(enc.encode_ordinary(t)) > BOUND)
        lines.append(f"| {name} | {wall * 1000:.0f} ms | {cpu * 1000:.0f} ms | {len(out)} | {over} "
                     f"| {wall / ref:.2f}x, {cpu / ref_cpu:.2f}x |")
    lines += ["", f"One tiktoken pass over the same bodies (`encode_ordinary`, nothing else): {floor[0] * 1000:.0f} ms "
              f"wall, {floor[1] * 1000:.0f} ms CPU. Every exact chunker makes at least that pass, so it bounds them all."]
    lines += ["", "Targets: >= 3x LangChain, >= 1x chonkie, 0 over the bound. On this shared machine the wall time of a "
              "~0.3 s job is mostly the scheduler's (bookctl's best wall has moved from 0.35 to 2 s between runs at "
              "the same CPU); the CPU column is the comparable one.",
              "",
              "What bounds bookctl (per-stage CPU on this corpus, cProfile to confirm): tiktoken, which counts every "
              "section and heading path once, exactly (the bound is guaranteed, not estimated), is about half; then "
              "sha256 of each chunk's normalised text (its identity, ~25 ms), the heading scan (~20 ms), MDX syntax "
              "removal (~15 ms), sections, paths and the chunk objects (~30 ms). 3x LangChain's CPU would leave "
              "~55 ms for all of that beside the tiktoken pass. chonkie stays ~1.4x above that pass because it "
              "does nothing else (no heading paths, overlap, MDX removal or hashing; a merged split's count is the "
              "sum of its parts' counts).",
              "", f"Machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, measured "
              f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}."]
    return "\n".join(lines)


def _timed(run):
    c, w = time.process_time(), time.perf_counter()
    out = run()
    return time.perf_counter() - w, time.process_time() - c, out


if __name__ == "__main__":
    print(main())
