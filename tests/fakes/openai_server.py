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
        # (method, regex) -> handler(server, body, raw, match): for paths with ids (files, batches)
        self.pattern_routes: list[tuple[str, re.Pattern[str], Callable[..., tuple[int, Any]]]] = [
            ("POST", re.compile(r"^/v1/files$"), _files_create),
            ("GET", re.compile(r"^/v1/files/([^/]+)/content$"), _files_content),
            ("GET", re.compile(r"^/v1/files/([^/]+)$"), _files_get),
            ("POST", re.compile(r"^/v1/batches$"), _batches_create),
            ("GET", re.compile(r"^/v1/batches/([^/]+)$"), _batches_get),
        ]
        self.files: dict[str, dict[str, Any]] = {}    # id -> {"meta": {...}, "content": bytes}
        self.batches: dict[str, dict[str, Any]] = {}  # id -> batch object
        self.batch_polls_before_done = 0  # GET /v1/batches/{id} says in_progress this many times first
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
            disable_nagle_algorithm = True  # headers and body are two writes: avoid the 40 ms delayed-ACK stall

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
            for route_method, pattern, pattern_handler in self.pattern_routes:
                match = pattern.match(path)
                if route_method == method and match:
                    status, payload = pattern_handler(self, body, raw, match)
                    return status, payload, {}
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


# ---------------------------------------------------------------- personalization transform

LESSON_OPEN, LESSON_CLOSE = "<<<LESSON\n", "\nLESSON>>>"
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


class PersonalizeFake:
    """A deterministic stand-in for the personalization LLM: `server.chat = PersonalizeFake()`.

    It finds the lesson between the prompt's markers, keeps every fenced code block and heading verbatim and
    marks each prose paragraph with a tag derived from the system prompt (so different profiles give different
    variants; Urdu profiles get an "[ur]" mark). Queue misbehaviour for the next calls with `misbehave(...)`:
    "drop_code", "alter_code", "empty", "preamble", "wrapper_fence", "short". `calls` counts invocations.
    """

    MODES = ("drop_code", "alter_code", "empty", "preamble", "wrapper_fence", "short")

    def __init__(self) -> None:
        self.queue: deque[str] = deque()
        self.calls = 0
        self.lessons: list[str] = []
        self._lock = threading.Lock()

    def misbehave(self, mode: str, times: int = 1) -> "PersonalizeFake":
        assert mode in self.MODES, mode
        self.queue.extend([mode] * times)
        return self

    def __call__(self, messages: list[dict[str, Any]], model: str) -> str:
        with self._lock:
            self.calls += 1
            mode = self.queue.popleft() if self.queue else None
        system = next((str(m.get("content", "")) for m in messages if m.get("role") == "system"), "")
        lesson_msg = next((str(m.get("content", "")) for m in messages if m.get("role") == "user"
                           and LESSON_OPEN in str(m.get("content", ""))), "")
        lesson = lesson_msg.split(LESSON_OPEN, 1)[1].rsplit(LESSON_CLOSE, 1)[0] if lesson_msg else ""
        with self._lock:
            self.lessons.append(lesson)
        text = personalize_transform(lesson, system)
        if mode == "empty":
            return ""
        if mode == "preamble":
            return "Here is the adapted lesson:\n\n" + text
        if mode == "wrapper_fence":
            return "```markdown\n" + text + "\n```"
        if mode == "short":
            return text[: max(1, len(text) // 10)]
        if mode in ("drop_code", "alter_code"):
            return _mangle_code(text, drop=mode == "drop_code")
        return text


def personalize_transform(lesson: str, system: str = "") -> str:
    tag = hashlib.blake2b(system.encode(), digest_size=3).hexdigest()
    urdu = '"preferred_language": "ur"' in system
    mark = f"[p:{tag}{' ur' if urdu else ''}] "
    out: list[str] = []
    in_fence, fence, paragraph_start = False, "", True
    for line in lesson.split("\n"):
        match = _FENCE.match(line)
        if in_fence:
            out.append(line)
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence) and not line.strip()[len(match.group(1)):]:
                in_fence = False
            continue
        if match:
            in_fence, fence = True, match.group(1)
            out.append(line)
            paragraph_start = False
            continue
        if not line.strip():
            out.append(line)
            paragraph_start = True
            continue
        if paragraph_start and not line.lstrip().startswith(("#", "|", ":::", "<", "!", "-", "*", ">")) \
                and not line.lstrip()[:1].isdigit():
            line = mark + line
        out.append(line)
        paragraph_start = False
    return "\n".join(out)


def _mangle_code(text: str, *, drop: bool) -> str:
    lines = text.split("\n")
    for i, line in enumerate(lines):
        match = _FENCE.match(line)
        if match:
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith(match.group(1)):
                j += 1
            if drop:
                return "\n".join(lines[:i] + lines[j + 1:])
            if j > i + 1:
                lines[i + 1] = lines[i + 1] + "  # changed"
            else:
                lines.insert(i + 1, "changed")
            return "\n".join(lines)
    return text + "\n\n(no code)" if not drop else text


# ---------------------------------------------------------------- files and batches (OpenAI Batch API)

def _multipart(raw: bytes) -> dict[str, tuple[str | None, bytes]]:
    boundary = raw.split(b"\r\n", 1)[0][2:]  # the body opens with --BOUNDARY
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in raw.split(b"--" + boundary):
        if b"\r\n\r\n" not in part:
            continue
        head, _, data = part.partition(b"\r\n\r\n")
        head_text = head.decode("utf-8", "replace")
        name = re.search(r'name="([^"]*)"', head_text)
        filename = re.search(r'filename="([^"]*)"', head_text)
        if name:
            fields[name.group(1)] = (filename.group(1) if filename else None, data[:-2] if data.endswith(b"\r\n") else data)
    return fields


def _store_file(server: FakeOpenAI, content: bytes, filename: str, purpose: str) -> dict[str, Any]:
    with server._lock:
        file_id = f"file-{len(server.files) + 1}"
        meta = {"id": file_id, "object": "file", "bytes": len(content), "created_at": int(time.time()),
                "filename": filename, "purpose": purpose, "status": "processed"}
        server.files[file_id] = {"meta": meta, "content": content}
    return meta


def _files_create(server: FakeOpenAI, _body: dict[str, Any], raw: bytes, _match: re.Match) -> tuple[int, Any]:
    if not raw.startswith(b"--"):
        return 400, {"error": {"message": "expected multipart/form-data", "type": "invalid_request_error"}}
    fields = _multipart(raw)
    if "file" not in fields:
        return 400, {"error": {"message": "missing file", "type": "invalid_request_error"}}
    filename, content = fields["file"]
    purpose = fields.get("purpose", (None, b"batch"))[1].decode()
    return 200, _store_file(server, content, filename or "upload.jsonl", purpose)


def _files_get(server: FakeOpenAI, _body: dict[str, Any], _raw: bytes, match: re.Match) -> tuple[int, Any]:
    entry = server.files.get(match.group(1))
    return (200, entry["meta"]) if entry else (404, {"error": {"message": "no such file", "type": "invalid_request_error"}})


def _files_content(server: FakeOpenAI, _body: dict[str, Any], _raw: bytes, match: re.Match) -> tuple[int, Any]:
    entry = server.files.get(match.group(1))
    return (200, entry["content"]) if entry else (404, {"error": {"message": "no such file", "type": "invalid_request_error"}})


def _batches_create(server: FakeOpenAI, body: dict[str, Any], _raw: bytes, _match: re.Match) -> tuple[int, Any]:
    input_id = body.get("input_file_id")
    if input_id not in server.files:
        return 400, {"error": {"message": "unknown input_file_id", "type": "invalid_request_error"}}
    with server._lock:
        batch_id = f"batch_{len(server.batches) + 1}"
        batch = {"id": batch_id, "object": "batch", "endpoint": body.get("endpoint", "/v1/chat/completions"),
                 "errors": None, "input_file_id": input_id, "completion_window": body.get("completion_window", "24h"),
                 "status": "in_progress", "output_file_id": None, "error_file_id": None,
                 "created_at": int(time.time()), "metadata": body.get("metadata"),
                 "request_counts": {"total": 0, "completed": 0, "failed": 0}, "_polls": 0}
        server.batches[batch_id] = batch
    return 200, _public(batch)


def _batches_get(server: FakeOpenAI, _body: dict[str, Any], _raw: bytes, match: re.Match) -> tuple[int, Any]:
    batch = server.batches.get(match.group(1))
    if batch is None:
        return 404, {"error": {"message": "no such batch", "type": "invalid_request_error"}}
    if batch["status"] == "in_progress":
        batch["_polls"] += 1
        if batch["_polls"] > server.batch_polls_before_done:
            _run_batch(server, batch)
    return 200, _public(batch)


def _run_batch(server: FakeOpenAI, batch: dict[str, Any]) -> None:
    """Run every request of the input file through the chat handler; write output (and error) files."""
    lines = server.files[batch["input_file_id"]]["content"].decode().splitlines()
    out, errors = [], []
    for n, line in enumerate(filter(None, lines)):
        request = json.loads(line)
        fault = server._take_fault("batch")
        if fault is not None and fault.kind == "status":
            errors.append({"id": f"batch_req_{n}", "custom_id": request["custom_id"], "response": None,
                           "error": {"code": "server_error", "message": f"injected {fault.status}"}})
            continue
        status, payload = _chat_completions(server, request["body"], b"")
        out.append({"id": f"batch_req_{n}", "custom_id": request["custom_id"],
                    "response": {"status_code": status, "request_id": f"req_{n}", "body": payload}, "error": None})
    batch["output_file_id"] = _store_file(server, "".join(json.dumps(o) + "\n" for o in out).encode(),
                                          "output.jsonl", "batch_output")["id"] if out else None
    batch["error_file_id"] = _store_file(server, "".join(json.dumps(e) + "\n" for e in errors).encode(),
                                         "errors.jsonl", "batch_output")["id"] if errors else None
    batch["request_counts"] = {"total": len(out) + len(errors), "completed": len(out), "failed": len(errors)}
    batch["status"] = "completed"
    batch["completed_at"] = int(time.time())


def _public(batch: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in batch.items() if not k.startswith("_")}
