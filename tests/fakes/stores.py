"""Real object-store servers on 127.0.0.1 for tests: moto's S3 server, a fault-injecting proxy in front of it,
and the reference MCP storage server (`bookctl mcp storage-server`) in a subprocess.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}


@contextmanager
def moto_s3() -> Iterator[str]:
    """moto's S3 server on a free loopback port; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def s3_client(endpoint: str):
    import boto3

    return boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                 region_name="us-east-1").client("s3", endpoint_url=endpoint)


def dump_s3(endpoint: str, bucket: str, prefix: str = "") -> dict[str, bytes]:
    """Every object under `prefix` (keys relative to it), with its bytes."""
    client = s3_client(endpoint)
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            out[item["Key"][len(prefix):]] = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return dict(sorted(out.items()))


@dataclass
class Faults:
    """What the proxy does to the next requests: `plan` is consumed one entry per matching request."""

    plan: list[int] = field(default_factory=list)  # HTTP statuses to answer instead of forwarding
    methods: tuple[str, ...] = ("GET", "PUT", "POST", "HEAD", "DELETE")
    always: int | None = None  # answer every matching request with this status
    seen: list[tuple[str, str]] = field(default_factory=list)  # (method, path?query) of every request

    def take(self, method: str) -> int | None:
        if method not in self.methods:
            return None
        if self.always is not None:
            return self.always
        return self.plan.pop(0) if self.plan else None


_CODES = {403: ("AccessDenied", "Access Denied"), 500: ("InternalError", "We encountered an internal error."),
          503: ("SlowDown", "Please reduce your request rate.")}


class S3FaultProxy:
    """A loopback HTTP proxy in front of an S3 endpoint that can answer 403 (denied), 500 or 503 (SlowDown)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.removeprefix("http://")
        self.faults = Faults()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                proxy.faults.seen.append((self.command, self.path))
                status = proxy.faults.take(self.command)
                if status is not None:
                    code, message = _CODES.get(status, ("Error", "error"))
                    xml = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>"
                           f"<Message>{message}</Message></Error>").encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", "0" if self.command == "HEAD" else str(len(xml)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(xml)
                    return
                conn = http.client.HTTPConnection(proxy.upstream, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                response = conn.getresponse()
                data = response.read()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("connection", "transfer-encoding", "content-length", "server", "date"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)) if self.command != "HEAD"
                                 else response.getheader("Content-Length", "0"))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "S3FaultProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_listening(host: str, port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s") from None
            time.sleep(0.05)


@contextmanager
def mcp_storage_server(root: Path, transport: str = "streamable-http") -> Iterator[str]:
    """`bookctl mcp storage-server --root ROOT --port 0` in a subprocess; yields its storage URL."""
    proc = subprocess.Popen([sys.executable, "-m", "bookctl", "mcp", "storage-server", "--root", str(root),
                             "--port", "0", "--transport", transport],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = _read_line(proc, timeout=60)
        url = line.rsplit(" at ", 1)[1].strip()
        host_port = url.split("://", 1)[1].split("/", 1)[0]
        wait_listening(host_port.rsplit(":", 1)[0], int(host_port.rsplit(":", 1)[1]))
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _read_line(proc: subprocess.Popen, timeout: float) -> str:
    found: list[str] = []
    reader = threading.Thread(target=lambda: found.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not found or not found[0]:
        proc.kill()
        raise RuntimeError(f"the MCP storage server did not start: {proc.stderr.read()[-2000:] if proc.poll() is not None else 'timeout'}")
    return found[0]


@contextmanager
def in_thread_mcp_server(server, transport: str = "streamable-http") -> Iterator[str]:
    """Serve an MCPServer instance built by a test (a faulty one) under uvicorn in a thread; yields its URL."""
    import uvicorn

    app, path, scheme = ((server.sse_app(host="127.0.0.1"), "/sse", "mcp+sse") if transport == "sse"
                         else (server.streamable_http_app(host="127.0.0.1"), "/mcp", "mcp+http"))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_listening("127.0.0.1", port, timeout=30)
        yield f"{scheme}://127.0.0.1:{port}{path}"
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        sock.close()
