"""The precomputed MiniLM cache matches what the chunker cuts now: every chunk of the two books has its
vector, and the file holds nothing else (regenerate with `python -m tests.search.warm_cache`)."""

from __future__ import annotations

import numpy as np

from bookctl.curriculum import load_book
from bookctl.pipeline.chunk import Chunker
from tests.conftest import FIXTURE_BOOK, SAMPLE_BOOK
from tests.search.warm_cache import DATA


def test_minilm_cache_is_fresh() -> None:
    have = {str(h) for h in np.load(DATA)["hashes"]}
    chunker = Chunker(max_tokens=500)
    need: set[str] = set()
    for root in (FIXTURE_BOOK, SAMPLE_BOOK):
        book, _ = load_book(root)
        for lesson in book.written_lessons():
            need |= {c.chunk_hash for c in chunker.chunk(lesson.body.decode("utf-8"), lesson.title)}
    assert need - have == set(), "chunks without a cached vector: run python -m tests.search.warm_cache"
    assert have - need == set(), "stale vectors in the cache file: run python -m tests.search.warm_cache"
