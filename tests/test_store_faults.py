"""Stores that fail: one clear line naming the bucket/endpoint/server, exit 2 for configuration and 1 otherwise,
nothing written; throttling and 5xx are retried; an MCP server missing a tool or answering `Error …` text."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.conftest import Workspace, make_workspace
from tests.fakes.stores import free_port, in_thread_mcp_server
from tests.storeutil import Backend, open_backend
from tests.syncutil import check_consistent, database_url, dump_lessons

TOKEN = "s3cr3t-t0ken-value"


@pytest.fixture
def s3(tmp_path: Path):
    with ExitStack() as stack:
        yield open_backend("s3", tmp_path, stack)


def workspace_for(tmp_path: Path, book: Path, env: dict[str, str]) -> Workspace:
    ws = make_workspace(tmp_path / "ws", book)
    ws.env.update(env)
    return ws


def one_line_failure(ws: Workspace, code: int, *needles: str) -> str:
    result = ws.run("sync")
    assert result.code == code, (result.code, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def nothing_written(ws: Workspace, backend: Backend | None = None) -> None:
    assert dump_lessons(database_url(ws)) == []
    if backend is not None:
        assert backend.dump() == {}


def test_s3_endpoint_down(tmp_path: Path, fixture_book: Path, s3: Backend) -> None:
    port = free_port()
    ws = workspace_for(tmp_path, fixture_book, {**s3.env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
                                                "BOOKCTL_STORAGE_MAX_ATTEMPTS": "2"})
    one_line_failure(ws, 1, s3.extra["bucket"], f"127.0.0.1:{port}")
    nothing_written(ws, s3)


def test_s3_missing_bucket(tmp_path: Path, fixture_book: Path, s3: Backend) -> None:
    ws = workspace_for(tmp_path, fixture_book, {**s3.env, "BOOKCTL_STORAGE_URL": "s3://no-such-bucket/prod"})
    one_line_failure(ws, 2, "'no-such-bucket'", "does not exist", s3.proxy.endpoint)
    nothing_written(ws, s3)


def test_s3_access_denied(tmp_path: Path, fixture_book: Path, s3: Backend) -> None:
    ws = workspace_for(tmp_path, fixture_book, s3.env)
    s3.proxy.faults.always = 403
    one_line_failure(ws, 2, "access denied", f"'{s3.extra['bucket']}'")
    s3.proxy.faults.always = None
    nothing_written(ws, s3)


@pytest.mark.parametrize("status", [500, 503])
def test_s3_5xx_and_throttling_are_retried(tmp_path: Path, fixture_book: Path, s3: Backend, status: int) -> None:
    ws = workspace_for(tmp_path, fixture_book, s3.env)
    s3.proxy.faults.methods = ("PUT",)
    s3.proxy.faults.plan = [status] * 4
    result = ws.run("sync", "--json")
    assert result.code == 0, result.stderr
    assert result.json["uploaded"] == 19
    assert s3.proxy.faults.plan == []  # every injected failure was met, and retried
    puts = [p for m, p in s3.proxy.faults.seen if m == "PUT"]
    assert len(puts) == 19 + 4
    check_consistent(database_url(ws), s3.dump())


def test_s3_failing_uploads_leave_the_database_alone_and_the_next_run_converges(
        tmp_path: Path, fixture_book: Path, s3: Backend) -> None:
    ws = workspace_for(tmp_path, fixture_book, {**s3.env, "BOOKCTL_STORAGE_MAX_ATTEMPTS": "2"})
    s3.proxy.faults.methods, s3.proxy.faults.always = ("PUT",), 500
    one_line_failure(ws, 1, s3.extra["bucket"], "InternalError")
    assert dump_lessons(database_url(ws)) == []  # no row points at anything
    s3.proxy.faults.always = None
    result = ws.run("sync", "--json")
    assert result.code == 0 and result.json["uploaded"] == 19
    check_consistent(database_url(ws), s3.dump())


def test_mcp_server_down(tmp_path: Path, fixture_book: Path) -> None:
    port = free_port()
    ws = workspace_for(tmp_path, fixture_book, {"BOOKCTL_STORAGE_URL": f"mcp+http://{TOKEN}@127.0.0.1:{port}/mcp"})
    line = one_line_failure(ws, 1, f"mcp+http://127.0.0.1:{port}/mcp")
    assert TOKEN not in line
    nothing_written(ws)


def _server(*, missing: str | None = None, write_error: str | None = None):
    """A server speaking the contract on files in memory, minus one tool or with a failing write_content."""
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("faulty-storage")
    files: dict[str, str] = {}

    if missing != "write_content":
        @server.tool()
        def write_content(params: dict) -> str:
            if write_error:
                return write_error
            import hashlib

            text = params["content"].strip()
            files[f"books/{params['book_id']}/{params['path']}"] = text
            return json.dumps({"status": "success", "file_hash": hashlib.sha256(text.encode()).hexdigest()})

    @server.tool()
    def read_content(params: dict) -> str:
        key = f"books/{params['book_id']}/{params['path']}"
        return json.dumps({"content": files[key]}) if key in files else f"Error reading content: {key} not found"

    if missing != "delete_content":
        @server.tool()
        def delete_content(params: dict) -> str:
            return json.dumps({"existed": files.pop(f"books/{params['book_id']}/{params['path']}", None) is not None})

    @server.tool()
    def glob_search(params: dict) -> str:
        return json.dumps(sorted(k for k in files if k.startswith(f"books/{params['book_id']}/")))

    return server


@pytest.mark.parametrize("transport", ["streamable-http", "sse"])
def test_mcp_server_missing_a_tool(tmp_path: Path, fixture_book: Path, transport: str) -> None:
    with in_thread_mcp_server(_server(missing="delete_content"), transport) as url:
        ws = workspace_for(tmp_path, fixture_book, {"BOOKCTL_STORAGE_URL": url.replace("://", f"://{TOKEN}@")})
        line = one_line_failure(ws, 2, "delete_content", url)
        assert TOKEN not in line
    nothing_written(ws)


@pytest.mark.parametrize("transport", ["streamable-http", "sse"])
def test_mcp_server_answering_error_text(tmp_path: Path, fixture_book: Path, transport: str) -> None:
    with in_thread_mcp_server(_server(write_error="Error writing content: disk full"), transport) as url:
        ws = workspace_for(tmp_path, fixture_book, {"BOOKCTL_STORAGE_URL": url})
        one_line_failure(ws, 1, "write_content", "disk full")
    nothing_written(ws)


def test_mcp_reference_server_refuses_traversal_and_keeps_the_contract(tmp_path: Path) -> None:
    """The reference server's own contract checks, over a real session."""
    from bookctl.errors import NotFoundError, StorageError
    from bookctl.storage.mcp_client import MCPStore

    with ExitStack() as stack:
        backend = open_backend("mcp-http", tmp_path, stack)
        store = MCPStore(backend.env["BOOKCTL_STORAGE_URL"])
        stack.callback(store.close)
        store.put("books/my-book/a/b.md", b"  body with spaces \n")
        assert store.get("books/my-book/a/b.md") == b"body with spaces"  # stripped, as PanaversityFS does
        assert (backend.extra["root"] / "books/my-book/a/b.md").read_bytes() == b"body with spaces"
        with pytest.raises(NotFoundError):
            store.get("books/my-book/a/missing.md")
        result = stack.enter_context(_raw_session(backend.env["BOOKCTL_STORAGE_URL"]))
        escaped = result("write_content", {"book_id": "my-book", "path": "../other-book/x.md", "content": "x"})
        assert escaped.content[0].text.startswith("Error ") and not (backend.extra["root"] / "books/other-book").exists()
        unknown = result("write_content", {"book_id": "my-book", "path": "x.md", "content": "x", "bogus": 1})
        assert unknown.is_error
        bad_id = result("read_content", {"book_id": "My_Book", "path": "x.md"})
        assert bad_id.is_error
        no_create = result("write_content", {"book_id": "my-book", "path": "new.md", "content": "x", "file_hash": "0" * 64})
        assert no_create.is_error and not (backend.extra["root"] / "books/my-book/new.md").exists()
        with pytest.raises(StorageError):
            store.put("books/Bad_Book/x.md", b"x")


def _raw_session(url: str):
    """A plain SDK client session (for calls bookctl itself never makes), driven from sync code."""
    import asyncio
    import threading
    from contextlib import contextmanager

    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    @contextmanager
    def session():
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        holder: dict = {}
        stop = asyncio.Event()

        async def own() -> None:
            async with streamable_http_client(url.replace("mcp+http", "http")) as streams:
                async with ClientSession(streams[0], streams[1]) as s:
                    await s.initialize()
                    holder["s"] = s
                    await stop.wait()

        task = asyncio.run_coroutine_threadsafe(own(), loop)

        def call(tool: str, params: dict):
            return asyncio.run_coroutine_threadsafe(holder["s"].call_tool(tool, {"params": params}), loop).result(30)

        import time

        deadline = time.monotonic() + 30
        while "s" not in holder and time.monotonic() < deadline and not task.done():
            time.sleep(0.05)
        try:
            yield call
        finally:
            loop.call_soon_threadsafe(stop.set)
            task.result(10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)

    return session()


def test_mcp_store_reconnects_after_a_server_restart(tmp_path: Path) -> None:
    """A long-lived process (the API) keeps working when the storage server restarts: a broken session is
    dropped and the next call opens a new one."""
    import subprocess
    import sys

    from bookctl.errors import StorageError
    from bookctl.storage.mcp_client import MCPStore
    from tests.fakes.stores import wait_listening

    port = free_port()

    def start() -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-m", "bookctl", "mcp", "storage-server", "--root", str(tmp_path),
                                 "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert proc.stdout.readline().strip().endswith(f"mcp+http://127.0.0.1:{port}/mcp")
        wait_listening("127.0.0.1", port)
        return proc

    proc = start()
    store = MCPStore(f"mcp+http://{TOKEN}@127.0.0.1:{port}/mcp")
    try:
        store.put("books/my-book/a.md", b"one")
        proc.terminate()
        proc.wait(timeout=10)
        with pytest.raises(StorageError) as down:
            store.get("books/my-book/a.md")
        assert TOKEN not in str(down.value)
        proc = start()
        assert store.get("books/my-book/a.md") == b"one"
    finally:
        store.close()
        proc.terminate()
        proc.wait(timeout=10)
