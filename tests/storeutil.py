"""One fixture, four stores: the fixture book synced to file://, s3:// (moto) and MCP (both transports).

`Backend.env` goes into a workspace's environment; `dump()` reads every object of the book's store from
the server side (not through bookctl), so tests compare what is really stored.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from tests.fakes.stores import AWS_ENV, S3FaultProxy, dump_s3, mcp_storage_server, moto_s3, s3_client
from tests.syncutil import dump_store

BACKENDS = ["file", "s3", "mcp-http", "mcp-sse"]
PREFIX = "prod"


@dataclass
class Backend:
    name: str
    env: dict[str, str]
    dump: Callable[[], dict[str, bytes]]
    put_raw: Callable[[str, bytes], None]  # behind bookctl's back
    delete_raw: Callable[[str], None]
    proxy: S3FaultProxy | None = None
    extra: dict = field(default_factory=dict)


def _file_backend(root: Path) -> Backend:
    def put(key: str, data: bytes) -> None:
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(data)

    return Backend("file", {"BOOKCTL_STORAGE_URL": f"file://{root}"}, lambda: dump_store(root), put,
                   lambda key: (root / key).unlink())


def open_backend(name: str, tmp_path: Path, stack: ExitStack) -> Backend:
    if name == "file":
        return _file_backend(tmp_path / "objects")
    if name == "s3":
        # moto keeps one in-memory S3 per process, shared by every server it starts: a bucket per backend
        import uuid

        BUCKET = f"books-{uuid.uuid4().hex[:10]}"
        endpoint = stack.enter_context(moto_s3())
        s3_client(endpoint).create_bucket(Bucket=BUCKET)
        proxy = stack.enter_context(S3FaultProxy(endpoint))
        client = s3_client(endpoint)
        env = {**AWS_ENV, "AWS_ENDPOINT_URL": proxy.endpoint, "BOOKCTL_STORAGE_URL": f"s3://{BUCKET}/{PREFIX}",
               "BOOKCTL_STORAGE_MAX_ATTEMPTS": "5"}
        return Backend("s3", env, lambda: dump_s3(endpoint, BUCKET, f"{PREFIX}/"),
                       lambda key, data: client.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{key}", Body=data),
                       lambda key: client.delete_object(Bucket=BUCKET, Key=f"{PREFIX}/{key}"), proxy=proxy,
                       extra={"endpoint": endpoint, "bucket": BUCKET})
    transport = {"mcp-http": "streamable-http", "mcp-sse": "sse"}[name]
    root = tmp_path / "mcp-root"
    url = stack.enter_context(mcp_storage_server(root, transport))
    files = _file_backend(root)
    return Backend(name, {"BOOKCTL_STORAGE_URL": url}, files.dump, files.put_raw, files.delete_raw,
                   extra={"root": root, "url": url})


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path: Path):
    with ExitStack() as stack:
        yield open_backend(request.param, tmp_path, stack)
