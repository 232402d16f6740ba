"""Edge limits on what a request may carry, before any framework code parses it.

JSON nested thousands of levels deep makes every recursive decoder (msgspec included) raise RecursionError,
a 500 on any endpoint that reads a body, authenticated or not. Real request bodies here are a few levels
deep, so the depth is counted on the raw bytes (strings skipped) and anything deeper than MAX_JSON_DEPTH is
a 400 in the usual error shape. The body is replayed unchanged to the app; the size limit stays Litestar's.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_JSON_DEPTH = 32
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(rb"[\[\]{}]")


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays/objects in `body` (which need not be valid JSON)."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub(b'""', body)):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


class JSONDepthMiddleware:
    """ASGI middleware: refuse request bodies nested deeper than `max_depth` with 400."""

    def __init__(self, app: Any, max_depth: int = MAX_JSON_DEPTH, max_body_bytes: int = 64 * 1024) -> None:
        self.app, self.max_depth, self.max_body_bytes = app, max_depth, max_body_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE") or not _may_be_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[dict] = []
        size = 0
        while True:  # read at most one byte past the limit; beyond it Litestar answers 413 itself
            message = await receive()
            chunks.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if not message.get("more_body") or size > self.max_body_bytes:
                break
        body = b"".join(m.get("body", b"") for m in chunks if m["type"] == "http.request")
        if size <= self.max_body_bytes and (depth := json_depth(body)) > self.max_depth:
            await _refuse(send, depth, self.max_depth)
            return

        async def replay() -> dict:
            return chunks.pop(0) if chunks else await receive()

        await self.app(scope, replay, send)


def _may_be_json(scope: dict) -> bool:
    """JSON, or no content type at all (the JSON endpoints decode a body whatever it is labelled); a form
    post (the review page) is not JSON and is left alone."""
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return b"json" in value.lower() or not value.strip()
    return True


async def _refuse(send: Any, depth: int, max_depth: int) -> None:
    payload = json.dumps({"error": "validation_error",
                          "message": f"invalid input: the JSON body is nested {depth} levels deep; at most {max_depth} are accepted",
                          "detail": {"max_depth": max_depth}}).encode()
    await send({"type": "http.response.start", "status": 400,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})
