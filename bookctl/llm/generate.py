"""Chat-completion generation behind a small protocol, with exact, self-managed retries.

`OpenAIGenerator` talks to any OpenAI-compatible endpoint (`OPENAI_BASE_URL`, `BOOKCTL_LLM_MODEL`) with the
SDK's own retries switched off (`max_retries=0`), so every attempt is ours and counted. Timeouts, connection
errors, 429 (honouring `Retry-After`) and 5xx are retried with exponential backoff; then a timeout surfaces as
UpstreamTimeoutError (503) and anything else as UpstreamError (502). Clients are built lazily, never at import.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Protocol, runtime_checkable

from bookctl.errors import NotConfiguredError, UpstreamError, UpstreamTimeoutError
from bookctl.ops import metrics

if TYPE_CHECKING:
    from bookctl.config import Settings

Message = dict[str, str]


@dataclass(frozen=True)
class Completion:
    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    finish_reason: str | None = None
    attempts: int = 1


@runtime_checkable
class Generator(Protocol):
    """Anything that turns chat messages into text. `model` is part of the cache key."""

    model: str

    def complete(self, messages: list[Message], *, max_tokens: int | None = None) -> Completion: ...


@dataclass
class RetryPolicy:
    attempts: int = 4          # total attempts, first one included
    base_delay: float = 0.5    # backoff: base * 2**n, jittered, capped
    max_delay: float = 20.0
    max_retry_after: float = 60.0  # a Retry-After longer than this is not waited for: fail now

    def backoff(self, attempt: int) -> float:
        delay = min(self.max_delay, self.base_delay * (2 ** attempt))
        return delay * (0.75 + random.random() * 0.5)


@dataclass
class OpenAIGenerator:
    model: str
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 60.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    temperature: float = 0.2
    sleep: Callable[[float], None] = time.sleep
    _client: Any = field(default=None, init=False, repr=False)
    _client_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def from_settings(cls, settings: "Settings") -> "OpenAIGenerator":
        return cls(
            model=settings.llm_model, base_url=settings.openai_base_url, api_key=settings.openai_api_key,
            timeout=settings.llm_timeout,
            retry=RetryPolicy(attempts=max(1, settings.llm_max_attempts), base_delay=settings.llm_backoff),
        )

    @property
    def client(self) -> Any:
        with self._client_lock:
            if self._client is None:
                from openai import OpenAI

                if not self.api_key and not self.base_url:
                    raise NotConfiguredError("OPENAI_API_KEY (or OPENAI_BASE_URL for a local OpenAI-compatible server) is not set")
                self._client = OpenAI(api_key=self.api_key or "unused", base_url=self.base_url,
                                      timeout=self.timeout, max_retries=0)
            return self._client

    # -- chat
    def complete(self, messages: list[Message], *, max_tokens: int | None = None) -> Completion:
        kwargs: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": self.temperature}
        if max_tokens:
            kwargs["max_tokens"] = max_tokens
        attempt = 0

        def call() -> Completion:
            response = self.client.chat.completions.create(**kwargs)
            if not response.choices:
                raise UpstreamError("the LLM returned no choices", detail={"model": self.model})
            choice = response.choices[0]
            usage = getattr(response, "usage", None)
            return Completion(
                text=choice.message.content or "", finish_reason=choice.finish_reason,
                tokens_in=getattr(usage, "prompt_tokens", 0) or 0, tokens_out=getattr(usage, "completion_tokens", 0) or 0,
                attempts=attempt + 1,
            )

        while True:
            try:
                completion = call()
                metrics.llm_call(self.model, completion.tokens_in, completion.tokens_out)
                return completion
            except Exception as exc:  # noqa: BLE001 - classified below
                retryable, wait, error = self._classify(exc)
                attempt += 1
                if not retryable or attempt >= self.retry.attempts:
                    error.detail.setdefault("attempts", attempt)
                    metrics.llm_failure(self.model)
                    raise error from exc
                self.sleep(wait if wait is not None else self.retry.backoff(attempt - 1))

    def with_retries(self, fn: Callable[[], Any]) -> Any:
        """Run one SDK call (files, batches) under the same retry policy."""
        attempt = 0
        while True:
            try:
                return fn()
            except Exception as exc:  # noqa: BLE001
                retryable, wait, error = self._classify(exc)
                attempt += 1
                if not retryable or attempt >= self.retry.attempts:
                    raise error from exc
                self.sleep(wait if wait is not None else self.retry.backoff(attempt - 1))

    def _classify(self, exc: Exception) -> tuple[bool, float | None, UpstreamError]:
        """(retry?, how long to wait or None for backoff, the error to raise when giving up)."""
        import openai

        where = {"model": self.model, "base_url": self.base_url or "https://api.openai.com/v1"}
        if isinstance(exc, UpstreamError):
            return False, None, exc
        if isinstance(exc, openai.APITimeoutError):
            return True, None, UpstreamTimeoutError(f"the LLM did not answer within {self.timeout:g}s", detail=where)
        if isinstance(exc, openai.APIConnectionError):
            return True, None, UpstreamError(f"could not reach the LLM endpoint: {exc}", detail=where)
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            detail = {**where, "status": status}
            if status == 429:
                wait = _retry_after(exc.response)
                if wait is not None and wait > self.retry.max_retry_after:
                    return False, None, UpstreamError(f"the LLM is rate limited for {wait:g}s", detail=detail)
                return True, wait, UpstreamError("the LLM is rate limited (429) and stayed so after retries", detail=detail)
            if status >= 500 or status in (408, 409):
                return True, _retry_after(exc.response), UpstreamError(f"the LLM failed with HTTP {status}", detail=detail)
            return False, None, UpstreamError(f"the LLM rejected the request with HTTP {status}: {exc.message}", detail=detail)
        raise exc


def _retry_after(response: Any) -> float | None:
    if response is None:
        return None
    headers = response.headers
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
