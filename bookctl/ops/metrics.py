"""Prometheus metrics (prometheus-client), created on first use, never at import time.

Domain code records through the small functions below (`llm_call`, `variant_cache`, ...), which cost a dict
lookup and an increment; `/metrics` renders them. With `bookctl serve --workers N`, set
PROMETHEUS_MULTIPROC_DIR (serve does it for you: a fresh temporary directory) so every worker writes its
samples to shared files and any worker's `/metrics` reports the sum over all of them (prometheus-client's
multiprocess mode). With N separate replicas, scrape each one: that is what Prometheus does anyway.

Numbers that live in the database (the review backlog) are not recorded by any process: a collector computes
them at scrape time (`ReviewBacklogCollector`, one aggregate query) and is registered only on the registry of
that one scrape, so N workers never add the same backlog up N times.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

log = logging.getLogger("bookctl.metrics")

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


BACKLOG_STATES = ("unreviewed", "rejected", "approved", "stale")


class ReviewBacklogCollector:
    """`bookctl_review_backlog{state}`: personalized variants by review state (bookctl review), read from the
    database when scraped. `read` returns {state: count}; a database that cannot be read leaves the gauge out of
    that scrape (the process's own metrics are still served; /readyz names the database)."""

    def __init__(self, read: Callable[[], Mapping[str, int]]) -> None:
        self.read = read

    def collect(self) -> Iterable[Any]:
        from prometheus_client.core import GaugeMetricFamily

        try:
            counts = self.read()
        except Exception as exc:  # noqa: BLE001 - a scrape must not fail because the database is away
            log.warning("review backlog left out of /metrics: %s", str(exc).splitlines()[0][:200] if str(exc) else
                        type(exc).__name__)
            return
        family = GaugeMetricFamily("bookctl_review_backlog",
                                   "Personalized variants by review state: unreviewed, rejected and approved current "
                                   "variants, and stale ones (never served again)", labels=["state"])
        for state in BACKLOG_STATES:
            family.add_metric([state], counts.get(state, 0))
        yield family


class _ThisProcess:
    """This process's default registry, as one collector of the scrape registry (single-process mode)."""

    def collect(self) -> Iterable[Any]:
        from prometheus_client import REGISTRY

        return REGISTRY.collect()


def render(extra: Sequence[Any] = ()) -> tuple[bytes, str]:
    """(body, content type) of the exposition: this process's registry, or every worker's in multiprocess mode,
    plus the `extra` collectors (computed now, once, whichever worker answers)."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    get()
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    for collector in extra:
        registry.register(collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST


def mark_worker_dead(pid: int) -> None:
    """prometheus-client's bookkeeping for a worker that exits (`multiprocess.mark_process_dead`): its live
    gauges leave the sums. Counters and histograms stay: they count what the worker did."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory or not os.path.isdir(directory):
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid, directory)

