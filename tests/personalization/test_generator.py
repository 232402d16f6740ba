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


def test_retry_after_past_the_cap_fails_at_once(llm):
    llm.fail_next(Fault(kind="status", status=429, retry_after=120, path=CHAT))  # past max_retry_after (60 s)
    sleeps: list[float] = []
    with pytest.raises(UpstreamError) as info:
        make_generator(llm, attempts=4, sleeps=sleeps).complete(MSG)
    assert "rate limited for 120s" in info.value.message and info.value.detail["attempts"] == 1
    assert sleeps == [] and len(llm.calls_to(CHAT)) == 1


def test_5xx_retry_after_and_409_are_retried(llm):
    llm.chat = lambda messages, model: "ok"
    llm.fail_next(Fault(kind="status", status=503, retry_after=0.25, path=CHAT))
    llm.fail_next(Fault(kind="status", status=409, path=CHAT))
    sleeps: list[float] = []
    c = make_generator(llm, attempts=3, sleeps=sleeps).complete(MSG)
    assert c.text == "ok" and c.attempts == 3 and len(llm.calls_to(CHAT)) == 3
    assert sleeps[0] == 0.25 and 0 < sleeps[1] <= 0.05  # the server's wait, then the policy's capped backoff


def test_unreachable_endpoint_is_retried_then_502():
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    from bookctl.llm.generate import OpenAIGenerator
    from bookctl.llm.retry import RetryPolicy

    sleeps: list[float] = []
    generator = OpenAIGenerator(model="m", base_url=f"http://127.0.0.1:{port}/v1", api_key="k", timeout=2,
                                retry=RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05), sleep=sleeps.append)
    with pytest.raises(UpstreamError) as info:
        generator.complete(MSG)
    assert info.value.status_code == 502 and info.value.detail["attempts"] == 3 and len(sleeps) == 2


def test_a_failure_that_is_not_the_endpoints_is_not_retried(llm):
    sleeps: list[float] = []
    with pytest.raises(TypeError):  # a bug on our side (unserializable message): raised as it is, never retried
        make_generator(llm, attempts=4, sleeps=sleeps).complete([{"role": "user", "content": object()}])
    assert sleeps == [] and llm.calls_to(CHAT) == []


def test_sdk_calls_share_the_policy(llm):
    """`with_retries` (Files/Batches calls of the Batch API) retries what chat retries, as often."""
    generator = make_generator(llm, attempts=3)
    llm.fail_next(Fault(kind="status", status=500, path="/v1/files"))
    upload = generator.with_retries(lambda: generator.client.files.create(file=("a.jsonl", b"{}\n"), purpose="batch"))
    assert upload.id and len(llm.calls_to("/v1/files")) == 2
    llm.fail_next(Fault(kind="status", status=500, path="/v1/files"), times=3)
    with pytest.raises(UpstreamError) as info:
        generator.with_retries(lambda: generator.client.files.create(file=("a.jsonl", b"{}\n"), purpose="batch"))
    assert info.value.status_code == 502 and len(llm.calls_to("/v1/files")) == 5


def test_embeddings_endpoint_still_works(llm):
    from openai import OpenAI

    client = OpenAI(base_url=llm.base_url, api_key="x", max_retries=0)
    out = client.embeddings.create(model="m", input=["a b", "c"])
    assert len(out.data) == 2 and len(out.data[0].embedding) == 64
