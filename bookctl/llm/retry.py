"""One retry policy for every call to an OpenAI-compatible endpoint (chat in bookctl.llm.generate, embeddings
in bookctl.llm.embedders), on tenacity.

The SDK's own retries stay off (`max_retries=0`) so that every attempt is ours and counted. Each caller says
which failures are worth another attempt and how long the server asked it to wait (`Retry-After`,
`retry-after-ms`); the policy bounds the attempts and backs off exponentially, with jitter, otherwise.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

T = TypeVar("T")

# (retry?, seconds the server asked to wait or None for the policy's backoff)
Classify = Callable[[BaseException], tuple[bool, float | None]]


@dataclass
class RetryPolicy:
    attempts: int = 4          # total attempts, first one included
    base_delay: float = 0.5    # backoff: base * 2**n, jittered, capped
    max_delay: float = 20.0
    max_retry_after: float = 60.0  # a Retry-After longer than this is not waited for: fail now

    def backoff(self, attempt: int) -> float:
        delay = min(self.max_delay, self.base_delay * (2 ** attempt))
        return delay * (0.75 + random.random() * 0.5)


def call_with_retries(fn: Callable[[], T], policy: RetryPolicy, classify: Classify, *,
                      sleep: Callable[[float], None] = time.sleep,
                      on_retry: Callable[[int], None] | None = None) -> T:
    """fn(), tried up to policy.attempts times while `classify` says the failure is worth another try; the
    last failure (or the first one that is not) is re-raised as it was."""
    from tenacity import Retrying, retry_if_exception, stop_after_attempt

    def wait(state: Any) -> float:
        exc = state.outcome.exception()
        asked = classify(exc)[1] if exc is not None else None
        return asked if asked is not None else policy.backoff(state.attempt_number - 1)

    def before_sleep(state: Any) -> None:
        if on_retry is not None:
            on_retry(state.attempt_number)

    retrying = Retrying(stop=stop_after_attempt(max(1, policy.attempts)), wait=wait,
                        retry=retry_if_exception(lambda exc: classify(exc)[0]), sleep=sleep,
                        before_sleep=before_sleep, reraise=True)
    return retrying(fn)


def retry_after(response: Any) -> float | None:
    """Seconds a response asks the client to wait (`retry-after-ms`, or `retry-after` in seconds or as a date)."""
    if response is None:
        return None
    headers = getattr(response, "headers", None) or {}
    for name in ("retry-after-ms", "retry-after"):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            from email.utils import parsedate_to_datetime

            try:
                seconds = parsedate_to_datetime(value).timestamp() - time.time()
            except (TypeError, ValueError):
                continue
        if name == "retry-after-ms":
            seconds /= 1000.0
        return max(0.0, seconds)
    return None
