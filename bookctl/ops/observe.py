"""One ASGI wrapper around the whole app (404s included): request id, Prometheus metrics, one log line per
request, and 503 for new requests once the process is draining (SIGTERM; see bookctl/ops/shutdown.py).

The request id is the client's `X-Request-ID` when it sends a sane one (a load balancer's), else a new one;
it is echoed in the response. The log line carries method, path (never the query string), route template,
status, duration and request id: no headers, so no bearer token or API key can reach a log.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any, Callable

from bookctl.ops import metrics

log = logging.getLogger("bookctl.request")
_SANE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_ALWAYS_SERVED = ("/healthz", "/readyz", "/metrics")  # probes and scraping answer while draining


class RequestObserver:
    def __init__(self, app: Callable, is_draining: Callable[[], bool]) -> None:
        self.app, self.is_draining = app, is_draining

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        try:
            if self.is_draining() and scope["path"].rstrip("/") not in _ALWAYS_SERVED:
                await _shutting_down(send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("path_template") or "unmatched"
            metrics.http_request(scope["method"], route, status, seconds)
            if log.isEnabledFor(logging.INFO):
                log.info("%s %s %s %.1fms id=%s", scope["method"], scope["path"], status, seconds * 1000, request_id, extra={"request": {
                    "request_id": request_id, "method": scope["method"], "path": scope["path"], "route": route,
                    "status": status, "duration_ms": round(seconds * 1000, 2),
                }})


def _request_id(scope: dict[str, Any]) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1").strip()
            if _SANE_ID.match(text):
                return text
            break
    return uuid.uuid4().hex


async def _shutting_down(send: Callable) -> None:
    body = json.dumps({"error": "shutting_down", "message": "this server is shutting down; retry on another",
                       "detail": {}}).encode()
    await send({"type": "http.response.start", "status": 503, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"), (b"retry-after", b"1")]})
    await send({"type": "http.response.body", "body": body})


class JsonFormatter(logging.Formatter):
    """BOOKCTL_LOG_FORMAT=json: one JSON object per line (a request's fields under their own names)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage(),
        }
        request = getattr(record, "request", None)
        if isinstance(request, dict):
            entry.update(request)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


JsonFormatter.converter = time.gmtime  # timestamps in UTC, as the trailing Z says


def configure_logging(log_format: str, *, request_lines: bool = True, level: int = logging.INFO) -> None:
    """Root logging for `bookctl serve`: plain text, or one JSON object per line; `request_lines=False`
    (`--no-access-log`) silences the per-request line."""
    logging.getLogger("bookctl.request").setLevel(logging.INFO if request_lines else logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # one line per plugin, every start
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
