"""Embedders: the local model reproduces the reference vector; the OpenAI client batches, retries, counts."""

from __future__ import annotations

import math

import pytest

from bookctl.config import load_settings
from bookctl.errors import ConfigError, UpstreamError
from bookctl.llm.embedders import LocalEmbedder, OpenAIEmbedder, make_embedder, min_requests, plan_batches
from tests.fakes.openai_server import Fault, fake_embedding


def test_local_minilm_reference_vector():
    vec = LocalEmbedder().embed(["hello world"])[0]
    assert len(vec) == 384
    assert [round(v, 4) for v in vec[:5]] == [-0.0345, 0.0310, 0.0067, 0.0261, -0.0394]
    assert math.isclose(sum(v * v for v in vec), 1.0, rel_tol=1e-5)


def test_local_semantics_and_long_texts():
    emb = LocalEmbedder()
    a, b, c, long = emb.embed(["robots learn by having a body", "embodied agents acquire skills through physical "
                               "interaction", "how to bake sourdough bread", "robot body " * 400])
    dot = lambda x, y: sum(i * j for i, j in zip(x, y))  # noqa: E731
    assert dot(a, b) > dot(a, c) + 0.2
    assert math.isclose(dot(long, long), 1.0, rel_tol=1e-5)  # > 256 wordpieces: windows averaged


def test_batches_are_bounded_by_count_and_tokens():
    counts = [10] * 25 + [300, 5]
    batches = plan_batches(counts, max_inputs=8, max_tokens=100)
    assert [i for b in batches for i in b] == list(range(27))
    assert all(len(b) <= 8 and (sum(counts[i] for i in b) <= 100 or len(b) == 1) for b in batches)
    assert min_requests([10] * 25, 8, 100) == 4


def _embedder(server, **kw) -> OpenAIEmbedder:
    return OpenAIEmbedder(model="text-embedding-3-small", api_key="k", base_url=server.base_url,
                          sleep=lambda s: sleeps.append(s), **kw)


sleeps: list[float] = []


def test_openai_embedder_batches_with_bounded_concurrency(fake_openai):
    emb = _embedder(fake_openai, max_inputs=5, max_batch_tokens=10_000, concurrency=3)
    texts = [f"passage number {i} about robots" for i in range(23)]
    vectors = emb.embed(texts)
    assert len(fake_openai.calls_to("/v1/embeddings")) == 5 == emb.stats.requests
    assert all(len(c.body["input"]) <= 5 for c in fake_openai.calls_to("/v1/embeddings"))
    expected = fake_embedding(texts[17])
    assert max(abs(a - b) for a, b in zip(vectors[17], expected)) < 1e-6  # order kept, base64 decoded
    assert emb.dim == 64


def test_openai_embedder_retries_429_and_5xx_honouring_retry_after(fake_openai):
    sleeps.clear()
    fake_openai.fail_next(Fault(kind="status", status=429, retry_after=0.1))
    fake_openai.fail_next(Fault(kind="status", status=503))
    emb = _embedder(fake_openai, max_retries=3, backoff_base=0.01)
    assert len(emb.embed(["a", "b"])) == 2
    assert emb.stats.requests == 3 == len(fake_openai.calls_to("/v1/embeddings")) and emb.stats.retries == 2
    assert sleeps[0] == pytest.approx(0.1)


def test_openai_embedder_gives_up_cleanly(fake_openai):
    fake_openai.fail_next(Fault(kind="status", status=500), times=3)
    emb = _embedder(fake_openai, max_retries=2, backoff_base=0.001)
    with pytest.raises(UpstreamError, match="after 3 attempts"):
        emb.embed(["x"])
    fake_openai.fail_next(Fault(kind="status", status=400))
    before = len(fake_openai.calls_to("/v1/embeddings"))
    with pytest.raises(UpstreamError, match="HTTP 400"):
        emb.embed(["x"])
    assert len(fake_openai.calls_to("/v1/embeddings")) == before + 1  # a 400 is never retried


def test_factory():
    assert isinstance(make_embedder(load_settings({})), LocalEmbedder)
    emb = make_embedder(load_settings({"BOOKCTL_EMBEDDINGS": "openai:text-embedding-3-large", "OPENAI_API_KEY": "k",
                                       "BOOKCTL_EMBED_BATCH_INPUTS": "7"}))
    assert emb.name == "openai:text-embedding-3-large" and emb.dim == 3072 and emb.max_inputs == 7
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        make_embedder(load_settings({"BOOKCTL_EMBEDDINGS": "openai:text-embedding-3-small"}))
    with pytest.raises(ConfigError, match="BOOKCTL_EMBEDDINGS"):
        make_embedder(load_settings({"BOOKCTL_EMBEDDINGS": "word2vec"}))


@pytest.mark.slow
def test_local_minilm_matches_sentence_transformers_on_the_fixture_book():
    """Every chunk of the fixture book against stored sentence-transformers (torch) vectors: the optimised
    numpy forward pass (threads, batching, in-place ops) must not change what is embedded."""
    import numpy as np

    from tests.search.st_reference import DATA

    data = np.load(DATA)
    texts, reference = [str(t) for t in data["texts"]], data["vectors"].astype(np.float32)
    assert len(texts) >= 300  # the whole book, not a sample
    ours = np.asarray(LocalEmbedder().embed(texts), dtype=np.float32)
    cosine = (ours * reference).sum(1) / np.linalg.norm(reference, axis=1)
    assert cosine.mean() >= 0.999, cosine.mean()
    assert cosine.min() >= 0.99, (cosine.min(), texts[int(cosine.argmin())][:80])


def test_thread_chooser_measures_every_configuration_then_keeps_the_fastest_and_rechecks():
    from bookctl.llm.local_minilm import ThreadChooser

    chooser = ThreadChooser([(1, 1), (2, 1), (1, 2)], recheck=4)
    speed = {(1, 1): 1.0, (2, 1): 0.4, (1, 2): 5.0}  # seconds per 1,000 tokens: (1, 2) oversubscribed
    tried = []
    for _ in range(3):
        config = chooser.next()
        tried.append(config)
        chooser.record(config, speed[config], 1000)
    assert tried == [(1, 1), (2, 1), (1, 2)] and chooser.best == (2, 1)
    used = []
    for _ in range(4 + 3):  # 4 batches with the best, then all three measured again, the best last
        config = chooser.next()
        used.append(config)
        chooser.record(config, speed[config], 1000)
    assert used[:4] == [(2, 1)] * 4 and used[4:] == [(1, 1), (1, 2), (2, 1)]
    assert chooser.recheck == 8  # the same winner: the next check comes twice as late
    speed[(2, 1)] = 9.0  # the machine got busy: one thread is now the fastest
    for _ in range(8 + 3):
        config = chooser.next()
        chooser.record(config, speed[config], 1000)
    assert chooser.best == (1, 1)
