"""MCP benchmark (the `## MCP` section of BENCHMARKS.md): `search_book` over streamable HTTP next to
`POST /api/search`, in the same run, against the same `bookctl serve` process (which serves both, /mcp and /api).

The fixture book is synced and embedded with the local all-MiniLM-L6-v2 (chunk vectors from the test cache), so
the hybrid search embeds every query live; a second server without an embedder measures lexical search, where
the protocol's share is largest. The search evaluation queries of the fixture book are sent round-robin, each
request alternating between the two paths (so load from this 2-core VM's neighbours hits both alike): one at a
time (latency), and for lexical also 8 in flight per path. Clients: the official MCP
SDK `ClientSession` on one streamable HTTP session, and an httpx2 AsyncClient with keep-alive. Target: MCP p50 and
p99 within 1.5x of the API's.

    .venv/bin/python bench/mcp_bench.py [--rounds 4]     # prints the section; bench/run.py mcp writes it
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import serve  # noqa: E402  (bench/ is a folder of scripts, not a package)

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
BOOK = REPO.parent / "shared" / "fixtures" / "robotics-book"
SECTION = "MCP"
TARGET = 1.5
LIMIT = 5


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def _row(name: str, samples: list[float]) -> str:
    return (f"| {name} | {len(samples)} | {_pct(samples, 50):.1f} | {_pct(samples, 99):.1f} | "
            f"{statistics.fmean(samples):.1f} |")


async def _measure(base: str, queries: list[str], rounds: int, concurrency: int) -> dict[str, list[float]]:
    import anyio
    import httpx2
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    times: dict[str, list[float]] = {"api": [], "mcp": []}
    async with httpx2.AsyncClient(timeout=60) as api_http, httpx2.AsyncClient(timeout=60) as mcp_http:
        async with streamable_http_client(base + "/mcp", http_client=mcp_http) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                await session.initialize()

                async def api_call(query: str) -> None:
                    started = time.perf_counter()
                    response = await api_http.post(base + "/api/search", json={"query": query, "limit": LIMIT})
                    response.raise_for_status()
                    times["api"].append((time.perf_counter() - started) * 1000)

                async def mcp_call(query: str) -> None:
                    started = time.perf_counter()
                    result = await session.call_tool("search_book", {"query": query, "limit": LIMIT})
                    if result.is_error:
                        raise RuntimeError(result.content)
                    times["mcp"].append((time.perf_counter() - started) * 1000)

                for query in queries[:3]:  # warm-up: the model, the snapshot, connection pools
                    await api_call(query)
                    await mcp_call(query)
                times["api"].clear()
                times["mcp"].clear()
                work = [q for _ in range(rounds) for q in queries]
                if concurrency == 1:
                    for i, query in enumerate(work):
                        first, second = (api_call, mcp_call) if i % 2 else (mcp_call, api_call)
                        await first(query)
                        await second(query)
                else:
                    limiter = anyio.Semaphore(concurrency * 2)

                    async def both(i: int, query: str) -> None:
                        async with limiter:
                            await (api_call if i % 2 else mcp_call)(query)

                    async with anyio.create_task_group() as tg:
                        for i, query in enumerate(work):
                            tg.start_soon(both, 2 * i, query)
                            tg.start_soon(both, 2 * i + 1, query)
    return times


def main(rounds: int = 4, lexical_only: bool = False) -> str:
    import anyio

    from bookctl.search.evaluate import load_queries
    from tests.conftest import make_workspace
    from tests.search.evalkit import QUERIES, open_embedded

    queries = [q["query"] for q in load_queries(QUERIES) if q["book"] == "fixture"]
    root = Path(tempfile.mkdtemp(prefix="bookctl-mcpbench-"))
    try:
        shutil.copytree(BOOK, root / "book", ignore=shutil.ignore_patterns("contract"))
        ws = make_workspace(root / "ws", root / "book")
        runtime, _book_id, _ = open_embedded(ws)
        runtime.close()
        env = {**os.environ, **ws.env, "BOOKCTL_SECRET_KEY": "bench-secret-key-0123456789abcdefghijkl"}
        rows, verdicts = [], []
        # (label, extra settings, concurrency levels): the real hybrid search, whose live query embedding costs
        # most of a call, and lexical only (no embedder: an unusable OpenAI spec), where the protocol shows most.
        scenarios = [("hybrid", {}, (1,)),
                     ("lexical", {"BOOKCTL_EMBEDDINGS": "openai:none", "OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""},
                      (1, 8))]
        for mode, extra, levels in scenarios[1:] if lexical_only else scenarios:
            with serve({**env, **extra}, ws.root, timeout=60) as base:
                for concurrency in levels:
                    times = anyio.run(_measure, base, queries, rounds, concurrency)
                    label = f"{mode}, " + ("one at a time" if concurrency == 1 else f"{concurrency} in flight per path")
                    rows += [_row(f"`POST /api/search`, {label}", times["api"]),
                             _row(f"MCP `search_book`, {label}", times["mcp"])]
                    p50 = _pct(times["mcp"], 50) / _pct(times["api"], 50)
                    p99 = _pct(times["mcp"], 99) / _pct(times["api"], 99)
                    ok = "meets" if max(p50, p99) <= TARGET else "misses"
                    verdicts.append(f"- {label}: MCP/API p50 **{p50:.2f}x**, p99 **{p99:.2f}x** "
                                    f"({ok} the {TARGET}x target)")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return "\n".join([
        f"`search_book` over streamable HTTP next to `POST /api/search`, same `bookctl serve` process (SQLite, the "
        f"fixture book; hybrid = local MiniLM query embedding on every call; lexical = no embedder configured), "
        f"{len(queries)} evaluation queries x {rounds} "
        f"rounds, limit {LIMIT}; the two paths alternate request by request. Clients: the official MCP SDK "
        f"(one session) and httpx2 with keep-alive, in one Python process. `python bench/mcp_bench.py`.",
        "",
        "| path | calls | p50 ms | p99 ms | mean ms |",
        "| --- | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        *verdicts,
        "",
        "Both paths run the same search function; what MCP adds is CPU per call: JSON-RPC framing, the SDK's "
        "argument and output-schema validation (pydantic on the server, jsonschema in the client), and a transport "
        "per request (the mount is stateless so any worker or replica can serve a client). One at a time that is "
        "~15 ms on a ~30 ms lexical search (and noise next to a query embedding); with 8 calls in flight on 2 "
        "shared cores (server and clients in one VM) CPU per call is what latency is made of, so the gap grows: "
        "the 1.5x target is met for single calls, not under that saturation.",
    ])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--lexical-only", action="store_true", help="skip the (slow) hybrid scenario")
    args = parser.parse_args()
    print(main(args.rounds, args.lexical_only))
