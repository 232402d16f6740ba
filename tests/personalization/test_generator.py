"""OpenAIGenerator against the fake server over real HTTP: exact retry counts, Retry-After, 5xx, timeouts."""

from __future__ import annotations

import pytest

from bookctl.errors import UpstreamError, UpstreamTimeoutError
from tests.fakes.openai_server import Fault
from tests.personalization.conftest import make_generator

MSG = [{"role": "user", "content": "hello"}]
CHAT = "/v1/chat/completions"


def test_success_reports_usage(llm):
    llm.chat = lambda messages, model: "adapted text"
    c = make_generator(llm).complete(MSG)
    assert c.text == "adapted text" and c.tokens_in > 0 and c.tokens_out == 2 and c.attempts == 1


def test_429_honours_retry_after_then_succeeds(llm):
    llm.chat = lambda messages, model: "ok"
    llm.fail_next(Fault(kind="status", status=429, retry_after=1.5, path=CHAT))
    sleeps: list[float] = []
    c = make_generator(llm, sleeps=sleeps).complete(MSG)
    assert c.text == "ok" and c.attempts == 2
    assert sleeps == [1.5]  # exactly the server's Retry-After, no SDK-side retries
    assert len(llm.calls_to(CHAT)) == 2


def test_500_is_retried_with_backoff_then_502(llm):
    llm.fail_next(Fault(kind="status", status=500, path=CHAT), times=3)
    sleeps: list[float] = []
    with pytest.raises(UpstreamError) as info:
        make_generator(llm, attempts=3, sleeps=sleeps).complete(MSG)
    assert info.value.status_code == 502 and info.value.detail["attempts"] == 3
    assert len(llm.calls_to(CHAT)) == 3 and len(sleeps) == 2


def test_slow_past_timeout_is_503(llm):
    llm.fail_next(Fault(kind="slow", delay=1.0, path=CHAT), times=2)
    with pytest.raises(UpstreamTimeoutError) as info:
        make_generator(llm, timeout=0.2, attempts=2).complete(MSG)
    assert info.value.status_code == 503
    assert len(llm.calls_to(CHAT)) == 2


def test_400_is_not_retried(llm):
    llm.fail_next(Fault(kind="status", status=400, path=CHAT))
    with pytest.raises(UpstreamError):
        make_generator(llm, attempts=4).complete(MSG)
    assert len(llm.calls_to(CHAT)) == 1


def test_embeddings_endpoint_still_works(llm):
    from openai import OpenAI

    client = OpenAI(base_url=llm.base_url, api_key="x", max_retries=0)
    out = client.embeddings.create(model="m", input=["a b", "c"])
    assert len(out.data) == 2 and len(out.data[0].embedding) == 64
