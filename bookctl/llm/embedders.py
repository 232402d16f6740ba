"""Embedders behind one small protocol: `name`, `dim`, `embed(texts) -> list[vector]`.

- `LocalEmbedder`: all-MiniLM-L6-v2 in numpy (offline default, 384 dims).
- `OpenAIEmbedder`: any OpenAI-compatible `/v1/embeddings` endpoint, with batches bounded by input count
  and tokens, bounded concurrency, and the retry policy of bookctl.llm.retry (shared with chat generation;
  the SDK's retries are off so request counts are exact): 429/408/5xx/connection errors, `Retry-After` honoured.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Protocol, Sequence, runtime_checkable

from bookctl.errors import ConfigError, UpstreamError, UpstreamTimeoutError
from bookctl.ops import metrics

if TYPE_CHECKING:
    from bookctl.config import Settings

Vector = list[float]

KNOWN_DIMS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536}
LOCAL_MODEL = "all-MiniLM-L6-v2"


@runtime_checkable
class Embedder(Protocol):
    name: str  # model identity, part of the embedding cache key ("local:all-MiniLM-L6-v2", "openai:...")

    @property
    def dim(self) -> int | None: ...  # None until known (an unknown OpenAI-compatible model)

    def embed(self, texts: Sequence[str]) -> list[Vector]: ...


@dataclass
class EmbedStats:
    requests: int = 0  # HTTP requests sent (retries included), or local forward batches
    retries: int = 0
    inputs: int = 0
    tokens: int = 0


class LocalEmbedder:
    """all-MiniLM-L6-v2, offline. One `embed` call counts as one request (it never leaves the process)."""

    name = f"local:{LOCAL_MODEL}"
    dim = 384
    max_tokens = 256  # the model window (longer texts are embedded by windows and averaged)

    reports_progress = True  # embed(texts, on_progress=...) reports texts done after each forward batch

    def __init__(self) -> None:
        self.stats = EmbedStats()

    def embed(self, texts: Sequence[str], on_progress: Callable[[int, int], None] | None = None) -> list[Vector]:
        from bookctl.llm.local_minilm import MiniLM

        if not texts:
            return []
        self.stats.requests += 1
        self.stats.inputs += len(texts)
        metrics.embedding_request("local")
        return MiniLM.get().embed(list(texts), on_progress=on_progress).tolist()


def plan_batches(token_counts: Sequence[int], max_inputs: int, max_tokens: int) -> list[list[int]]:
    """Greedy, order-preserving batches of indices, each within both limits (an oversized input alone)."""
    batches: list[list[int]] = []
    current: list[int] = []
    used = 0
    for i, n in enumerate(token_counts):
        if current and (len(current) >= max_inputs or used + n > max_tokens):
            batches.append(current)
            current, used = [], 0
        current.append(i)
        used += n
    if current:
        batches.append(current)
    return batches


def min_requests(token_counts: Sequence[int], max_inputs: int, max_tokens: int) -> int:
    """The fewest requests any batching could use: a lower bound from both limits."""
    if not token_counts:
        return 0
    by_count = -(-len(token_counts) // max_inputs)
    by_tokens = -(-sum(token_counts) // max_tokens)
    return max(by_count, by_tokens)


@dataclass
class OpenAIEmbedder:
    model: str = "text-embedding-3-small"
    api_key: str | None = None
    base_url: str | None = None
    max_inputs: int = 256  # per request (the API allows 2048)
    max_batch_tokens: int = 100_000  # per request (the API allows 300k)
    max_input_tokens: int = 8191  # per input: longer inputs are truncated to this many tokens
    concurrency: int = 4
    max_retries: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 20.0
    timeout: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    stats: EmbedStats = field(default_factory=EmbedStats)
    _dim: int | None = None
    _client: object = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.name = f"openai:{self.model}"
        self._dim = KNOWN_DIMS.get(self.model) if self._dim is None else self._dim

    @property
    def dim(self) -> int | None:
        return self._dim

    @property
    def client(self):
        if self._client is None:
            from openai import OpenAI

            self._client = OpenAI(api_key=self.api_key or "unused", base_url=self.base_url,
                                  max_retries=0, timeout=self.timeout)
        return self._client

    def _encoding(self):
        from bookctl.llm.tokens import get_encoding

        return get_encoding("cl100k_base")  # every OpenAI embedding model counts with cl100k

    def embed(self, texts: Sequence[str]) -> list[Vector]:
        if not texts:
            return []
        enc = self._encoding()
        inputs: list[str] = []
        counts: list[int] = []
        for text in texts:
            ids = enc.encode(text or " ", disallowed_special=())
            if len(ids) > self.max_input_tokens:
                ids = ids[: self.max_input_tokens]
                text = enc.decode(ids)
            inputs.append(text or " ")
            counts.append(len(ids))
        batches = plan_batches(counts, self.max_inputs, self.max_batch_tokens)
        out: list[Vector | None] = [None] * len(inputs)

        def run(batch: list[int]) -> None:
            vectors = self._request([inputs[i] for i in batch])
            for i, vec in zip(batch, vectors):
                out[i] = vec

        if len(batches) == 1 or self.concurrency <= 1:
            for batch in batches:
                run(batch)
        else:
            from concurrent.futures import ThreadPoolExecutor  # here: a no-op embed imports this module

            with ThreadPoolExecutor(max_workers=min(self.concurrency, len(batches))) as pool:
                for future in [pool.submit(run, b) for b in batches]:
                    future.result()  # re-raises the first failure
        with self._lock:
            self.stats.inputs += len(inputs)
            self.stats.tokens += sum(counts)
        return out  # type: ignore[return-value]

    def _request(self, batch: list[str]) -> list[Vector]:
        from bookctl.llm.retry import RetryPolicy, call_with_retries

        attempts = [0]

        def attempt() -> list[Vector]:
            attempts[0] += 1
            with self._lock:
                self.stats.requests += 1
            metrics.embedding_request("openai")
            response = self.client.embeddings.create(model=self.model, input=batch)
            data = sorted(response.data, key=lambda d: d.index)
            if len(data) != len(batch):
                raise UpstreamError(f"embeddings endpoint returned {len(data)} vectors for {len(batch)} inputs")
            vectors = [list(map(float, d.embedding)) for d in data]
            with self._lock:
                self._dim = len(vectors[0])
            return vectors

        def counted_retry(_attempt: int) -> None:
            with self._lock:
                self.stats.retries += 1

        policy = RetryPolicy(attempts=self.max_retries + 1, base_delay=self.backoff_base, max_delay=self.backoff_max)
        try:
            return call_with_retries(attempt, policy, self._classify, sleep=self.sleep, on_retry=counted_retry)
        except UpstreamError:
            raise
        except Exception as exc:  # noqa: BLE001 - mapped to bookctl's errors below
            raise self._error(exc, attempts[0]) from None

    def _classify(self, exc: BaseException) -> tuple[bool, float | None]:
        """429, 408 and 5xx, timeouts and connection errors are retried; a Retry-After is waited for, up to
        backoff_max."""
        import openai

        from bookctl.llm.retry import retry_after

        if isinstance(exc, openai.APIStatusError):
            if exc.status_code == 429 or exc.status_code >= 500 or exc.status_code == 408:
                wait = retry_after(exc.response)
                return True, None if wait is None else min(wait, self.backoff_max)
            return False, None
        return isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError)), None

    def _error(self, exc: BaseException, attempts: int) -> Exception:
        import openai

        if isinstance(exc, openai.APIStatusError) and not self._classify(exc)[0]:
            return UpstreamError(f"embeddings request failed: HTTP {exc.status_code}: {_message(exc)}",
                                 detail={"status": exc.status_code, "model": self.model})
        if isinstance(exc, openai.APITimeoutError):
            return UpstreamTimeoutError(f"embeddings request timed out after {attempts} attempts",
                                        detail={"model": self.model})
        if isinstance(exc, openai.APIError):
            status = getattr(exc, "status_code", None)
            return UpstreamError(
                f"embeddings request failed after {attempts} attempts: "
                + (f"HTTP {status}" if status else type(exc).__name__),
                detail={"status": status, "model": self.model, "attempts": attempts},
            )
        return exc  # not an API failure: a bug, reported as it is


def _message(exc) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return str(exc)[:200]


def embedder_name(settings: "Settings") -> str:
    """The model identity `make_embedder(settings).name` has, without building it (raises ConfigError alike)."""
    spec = (settings.embeddings or "local").strip()
    if spec == "local" or spec == f"local:{LOCAL_MODEL}":
        return LocalEmbedder.name
    if spec.startswith("openai:") and spec.split(":", 1)[1]:
        if not settings.openai_api_key and not settings.openai_base_url:
            raise ConfigError(f"BOOKCTL_EMBEDDINGS={spec} needs OPENAI_API_KEY (or OPENAI_BASE_URL for a local server)")
        return f"openai:{spec.split(':', 1)[1]}"
    raise ConfigError(f"BOOKCTL_EMBEDDINGS must be `local` or `openai:<model>`; got {spec!r}")


def make_embedder(settings: "Settings") -> Embedder:
    """`local` (default, offline) or `openai:<model>` (any OpenAI-compatible endpoint)."""
    spec = (settings.embeddings or "local").strip()
    if spec == "local" or spec == f"local:{LOCAL_MODEL}":
        return LocalEmbedder()
    if spec.startswith("openai:") and spec.split(":", 1)[1]:
        if not settings.openai_api_key and not settings.openai_base_url:
            raise ConfigError(f"BOOKCTL_EMBEDDINGS={spec} needs OPENAI_API_KEY (or OPENAI_BASE_URL for a local server)")
        return OpenAIEmbedder(
            model=spec.split(":", 1)[1], api_key=settings.openai_api_key, base_url=settings.openai_base_url,
            max_inputs=settings.embed_batch_inputs, max_batch_tokens=settings.embed_batch_tokens,
            concurrency=settings.embed_concurrency, max_retries=settings.embed_max_retries,
        )
    raise ConfigError(f"BOOKCTL_EMBEDDINGS must be `local` or `openai:<model>`; got {spec!r}")
