"""A local OpenAI-compatible server for tests: real HTTP on 127.0.0.1, deterministic, with fault injection.

Start it with `FakeOpenAI().start()` (or the `fake_openai` fixture) and point the `openai` client at
`server.base_url`. Endpoints: POST /v1/embeddings, POST /v1/chat/completions. Other engineers extend
`routes` (files, batches) rather than writing a second fake.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

EMBED_DIM = 64
_WORD = re.compile(r"[a-z0-9]+")


def fake_embedding(text: str, dim: int = EMBED_DIM) -> list[float]:
    """A deterministic bag-of-words vector: texts sharing words point the same way."""
    vec = [0.0] * dim
    for word in _WORD.findall(text.lower()):
        h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
        vec[h % dim] += 1.0 if (h >> 16) & 1 else -1.0
    norm = sum(v * v for v in vec) ** 0.5 or 1.0
    return [v / norm for v in vec]


def default_chat(messages: list[dict[str, Any]], model: str) -> str:
    """Echo the last user message back, marked, so tests can see what was sent."""
    user = [m for m in messages if m.get("role") == "user"]
    return "[fake] " + (str(user[-1].get("content", "")) if user else "")


@dataclass
class Fault:
    """One injected failure, consumed by the next matching request."""

    kind: str  # "status" | "slow" | "body"
    status: int = 500
    retry_after: float | None = None
    delay: float = 0.0
    body: Any = None
    path: str | None = None  # only requests to this path; None for any


@dataclass
class Call:
    path: str
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class FakeOpenAI:
    def __init__(self, *, latency: float = 0.0, embed_dim: int = EMBED_DIM) -> None:
        self.latency = latency
        self.embed_dim = embed_dim
        self.chat: Callable[[list[dict[str, Any]], str], str] = default_chat
        self.calls: list[Call] = []
        self.faults: deque[Fault] = deque()
        self.routes: dict[tuple[str, str], Callable[["FakeOpenAI", dict[str, Any], bytes], tuple[int, Any]]] = {
            ("POST", "/v1/embeddings"): _embeddings,
            ("POST", "/v1/chat/completions"): _chat_completions,
        }
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    # -- control
    def fail_next(self, fault: Fault, times: int = 1) -> None:
        for _ in range(times):
            self.faults.append(fault)

    def calls_to(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "start() the server first"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> "FakeOpenAI":
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                return None

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                try:
                    body = json.loads(raw) if raw and self.headers.get("Content-Type", "").startswith("application/json") else {}
                except json.JSONDecodeError:
                    body = {}
                status, payload, headers = server._dispatch(method, path, body, raw)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json" if not isinstance(payload, bytes) else "application/octet-stream")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def do_POST(self) -> None:
                self._handle("POST")

            def do_GET(self) -> None:
                self._handle("GET")

            def do_DELETE(self) -> None:
                self._handle("DELETE")

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "FakeOpenAI":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- dispatch
    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for i, fault in enumerate(self.faults):
                if fault.path in (None, path):
                    del self.faults[i]
                    return fault
        return None

    def _dispatch(self, method: str, path: str, body: dict[str, Any], raw: bytes) -> tuple[int, Any, dict[str, str]]:
        with self._lock:
            self.calls.append(Call(path, body))
        if self.latency:
            time.sleep(self.latency)
        fault = self._take_fault(path)
        if fault is not None:
            if fault.kind == "slow":
                time.sleep(fault.delay)
            elif fault.kind == "status":
                headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
                return fault.status, {"error": {"message": f"injected {fault.status}", "type": "fake", "code": None}}, headers
            elif fault.kind == "body":
                return 200, fault.body, {}
        handler = self.routes.get((method, path))
        if handler is None:
            return 404, {"error": {"message": f"no route {method} {path}", "type": "invalid_request_error"}}, {}
        status, payload = handler(self, body, raw)
        return status, payload, {}


def _embeddings(server: FakeOpenAI, body: dict[str, Any], _raw: bytes) -> tuple[int, Any]:
    inputs = body.get("input")
    if isinstance(inputs, str):
        inputs = [inputs]
    if not isinstance(inputs, list) or not inputs:
        return 400, {"error": {"message": "input must be a non-empty string or list", "type": "invalid_request_error"}}
    data = []
    for i, text in enumerate(inputs):
        vec = fake_embedding(str(text), server.embed_dim)
        if body.get("encoding_format") == "base64":
            emb: Any = base64.b64encode(struct.pack(f"<{len(vec)}f", *vec)).decode()
        else:
            emb = vec
        data.append({"object": "embedding", "index": i, "embedding": emb})
    tokens = sum(len(str(t).split()) for t in inputs)
    return 200, {"object": "list", "data": data, "model": body.get("model", "fake"),
                 "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def _chat_completions(server: FakeOpenAI, body: dict[str, Any], _raw: bytes) -> tuple[int, Any]:
    messages = body.get("messages") or []
    model = body.get("model", "fake")
    content = server.chat(messages, model)
    prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
    return 200, {
        "id": f"chatcmpl-{len(server.calls)}", "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(content.split()),
                  "total_tokens": prompt_tokens + len(content.split())},
    }
