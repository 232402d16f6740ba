"""Prometheus metrics (prometheus-client), created on first use, never at import time.

Domain code records through the small functions below (`llm_call`, `variant_cache`, ...), which cost a dict
lookup and an increment; `/metrics` renders them. With `bookctl serve --workers N`, set
PROMETHEUS_MULTIPROC_DIR (serve does it for you: a fresh temporary directory) so every worker writes its
samples to shared files and any worker's `/metrics` reports the sum over all of them (prometheus-client's
multiprocess mode). With N separate replicas, scrape each one: that is what Prometheus does anyway.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass(frozen=True)
class _Metrics:
    requests: Any
    latency: Any
    llm_calls: Any
    llm_tokens: Any
    llm_failures: Any
    variant_cache: Any
    single_flight_waits: Any
    embedding_requests: Any


_lock = threading.Lock()
_metrics: _Metrics | None = None
_enabled = False  # the API server enables recording; CLI runs never import prometheus-client


def enable() -> None:
    global _enabled
    _enabled = True
    get()


def _build() -> _Metrics:
    from prometheus_client import Counter, Histogram

    return _Metrics(
        requests=Counter("bookctl_http_requests", "HTTP requests served", ["method", "route", "status"]),
        latency=Histogram("bookctl_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
                          buckets=LATENCY_BUCKETS),
        llm_calls=Counter("bookctl_llm_calls", "LLM chat completions that returned an answer", ["model"]),
        llm_tokens=Counter("bookctl_llm_tokens", "LLM tokens used", ["model", "direction"]),
        llm_failures=Counter("bookctl_llm_failures", "LLM chat completions that failed after retries", ["model"]),
        variant_cache=Counter("bookctl_variant_cache", "Personalized variant lookups", ["result"]),
        single_flight_waits=Counter("bookctl_single_flight_waits",
                                    "Requests that waited for another generator (any process) of the same variant"),
        embedding_requests=Counter("bookctl_embedding_requests", "Embedding requests sent (or local batches)",
                                   ["backend"]),
    )


def get() -> _Metrics:
    global _metrics
    if _metrics is None:
        with _lock:
            if _metrics is None:
                _metrics = _build()
    return _metrics


def http_request(method: str, route: str, status: int, seconds: float) -> None:
    if not _enabled:
        return
    m = get()
    m.requests.labels(method, route, str(status)).inc()
    m.latency.labels(method, route).observe(seconds)


def llm_call(model: str, tokens_in: int, tokens_out: int) -> None:
    if not _enabled:
        return
    m = get()
    m.llm_calls.labels(model).inc()
    m.llm_tokens.labels(model, "in").inc(tokens_in)
    m.llm_tokens.labels(model, "out").inc(tokens_out)


def llm_failure(model: str) -> None:
    if not _enabled:
        return
    get().llm_failures.labels(model).inc()


def variant_cache(hit: bool) -> None:
    if not _enabled:
        return
    get().variant_cache.labels("hit" if hit else "miss").inc()


def single_flight_wait() -> None:
    if not _enabled:
        return
    get().single_flight_waits.inc()


def embedding_request(backend: str) -> None:
    if not _enabled:
        return
    get().embedding_requests.labels(backend).inc()


def render() -> tuple[bytes, str]:
    """(body, content type) of the exposition: this process's registry, or every worker's in multiprocess mode."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    get()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST

