"""Chat-completion generation behind a small protocol, with exact retries.

`OpenAIGenerator` talks to any OpenAI-compatible endpoint (`OPENAI_BASE_URL`, `BOOKCTL_LLM_MODEL`) with the
SDK's own retries switched off (`max_retries=0`), so every attempt is ours and counted. Retries use the one policy
of bookctl.llm.retry (shared with embeddings): timeouts, connection errors, 429 (honouring `Retry-After` up to
`max_retry_after`), 408/409 and 5xx are retried with exponential backoff, up to `attempts` tries in all; then a
timeout surfaces as UpstreamTimeoutError (503) and anything else as UpstreamError (502). Clients are built
lazily, never at import.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Protocol, runtime_checkable

from bookctl.errors import NotConfiguredError, UpstreamError, UpstreamTimeoutError
from bookctl.llm.retry import RetryPolicy, call_with_retries, retry_after
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
        attempts = 0

        def call() -> Completion:
            nonlocal attempts
            attempts += 1
            response = self.client.chat.completions.create(**kwargs)
            if not response.choices:
                raise UpstreamError("the LLM returned no choices", detail={"model": self.model})
            choice = response.choices[0]
            usage = getattr(response, "usage", None)
            return Completion(
                text=choice.message.content or "", finish_reason=choice.finish_reason,
                tokens_in=getattr(usage, "prompt_tokens", 0) or 0, tokens_out=getattr(usage, "completion_tokens", 0) or 0,
                attempts=attempts,
            )

        try:
            completion = self._retrying(call)
        except Exception as exc:  # noqa: BLE001 - classified: the error bookctl reports (anything else re-raised)
            error = self._give_up(exc)
            error.detail.setdefault("attempts", attempts)
            metrics.llm_failure(self.model)
            raise error from exc
        metrics.llm_call(self.model, completion.tokens_in, completion.tokens_out)
        return completion

    def with_retries(self, fn: Callable[[], Any]) -> Any:
        """Run one SDK call (files, batches) under the same retry policy."""
        try:
            return self._retrying(fn)
        except Exception as exc:  # noqa: BLE001
            raise self._give_up(exc) from exc

    def _retrying(self, fn: Callable[[], Any]) -> Any:
        def decide(exc: BaseException) -> tuple[bool, float | None]:
            classified = self._classify(exc)
            return (False, None) if classified is None else classified[:2]

        return call_with_retries(fn, self.retry, decide, sleep=self.sleep)

    def _give_up(self, exc: Exception) -> UpstreamError:
        """The error to report for the failure retries ended on; a failure that is not the endpoint's (a bug) is
        re-raised as it is."""
        classified = self._classify(exc)
        if classified is None:
            raise exc
        return classified[2]

    def _classify(self, exc: BaseException) -> tuple[bool, float | None, UpstreamError] | None:
        """(retry?, how long to wait or None for backoff, the error to raise when giving up); None for a failure
        that is not the endpoint's (never retried)."""
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
                wait = retry_after(exc.response)
                if wait is not None and wait > self.retry.max_retry_after:
                    return False, None, UpstreamError(f"the LLM is rate limited for {wait:g}s", detail=detail)
                return True, wait, UpstreamError("the LLM is rate limited (429) and stayed so after retries", detail=detail)
            if status >= 500 or status in (408, 409):
                return True, retry_after(exc.response), UpstreamError(f"the LLM failed with HTTP {status}", detail=detail)
            return False, None, UpstreamError(f"the LLM rejected the request with HTTP {status}: {exc.message}", detail=detail)
        return None

