"""Precomputed all-MiniLM-L6-v2 vectors for the fixture book and the sample book, keyed by chunk hash.

The local model runs at a few chunks per second on a small CI machine, so the tests that need real
semantic vectors (the done-means check, the evaluation floor) seed the embedding cache from this file
instead of spending minutes recomputing identical vectors. They are the model's real outputs (float16),
produced by `python -m tests.search.warm_cache`; any chunk missing from the file (the chunker or the
books changed) is simply embedded by the real model during the test, so the file can only save time,
never change what is tested. Query vectors are always computed live.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent / "data" / "minilm_cache.npz"
MODEL = "local:all-MiniLM-L6-v2"


def seed(session) -> int:
    """Insert the precomputed vectors into embedding_cache; returns how many."""
    from bookctl.db import models as m

    if not DATA.exists():
        return 0
    data = np.load(DATA)
    hashes, vectors = data["hashes"], data["vectors"].astype(np.float32)
    existing = set(session.scalars(m.EmbeddingCache.__table__.select().with_only_columns(m.EmbeddingCache.chunk_hash)))
    n = 0
    for h, v in zip(hashes, vectors):
        h = str(h)
        if h in existing:
            continue
        session.add(m.EmbeddingCache(model=MODEL, chunk_hash=h, dim=len(v), vector=v.astype("<f4").tobytes()))
        n += 1
    session.flush()
    return n


def main(argv: list[str]) -> int:
    """Embed both books with the real local model in a scratch workspace and save the cache."""
    import os
    import shutil
    import tempfile

    from sqlalchemy import select

    repo = Path(__file__).resolve().parents[2]
    from tests.realbooks import real_book_sites

    books = [repo.parent / "shared" / "fixtures" / "robotics-book", repo / "curriculum"]
    if "--real-books" in argv:  # ~3,800 more chunks: hours of CPU on a busy 2-core machine, minutes on a free one
        books += list(real_book_sites().values())
    hashes: list[str] = []
    vectors: list[np.ndarray] = []
    for book in books:
        root = Path(tempfile.mkdtemp(prefix="bookctl-warm-"))
        shutil.copytree(book, root / "book", ignore=shutil.ignore_patterns("contract"))
        os.environ.update(BOOKCTL_DATA_DIR=str(root / ".bookctl"), BOOKCTL_STORAGE_URL=f"file://{root / 'storage'}",
                          BOOKCTL_BOOK=str(root / "book"))
        from bookctl.cli import main as cli

        from bookctl.config import load_settings
        from bookctl.db import models as m
        from bookctl.runtime import Runtime

        for args in (["sync", "--json"], ["embed", "--json"]):
            try:
                cli(args)
            except SystemExit as exc:
                if exc.code:
                    return int(exc.code)
            if args[0] == "sync":  # vectors already in the file are reused: only new chunk texts hit the model
                runtime = Runtime.open(load_settings())
                with runtime.session() as session:
                    seed(session)
                runtime.close()

        runtime = Runtime.open(load_settings())
        with runtime.session() as session:
            # Only the vectors of chunks the books have now: the file never keeps stale entries.
            used = select(m.Chunk.chunk_hash).distinct()
            for h, blob in session.execute(select(m.EmbeddingCache.chunk_hash, m.EmbeddingCache.vector)
                                           .where(m.EmbeddingCache.model == MODEL, m.EmbeddingCache.chunk_hash.in_(used))):
                hashes.append(h)
                vectors.append(np.frombuffer(blob, dtype="<f4"))
        runtime.close()
        shutil.rmtree(root, ignore_errors=True)
    unique = dict(zip(hashes, vectors))  # a chunk text shared by two books is stored once
    hashes, vectors = list(unique), list(unique.values())
    DATA.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(DATA, hashes=np.array(hashes), vectors=np.stack(vectors).astype(np.float16))
    print(f"saved {len(hashes)} vectors to {DATA}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
