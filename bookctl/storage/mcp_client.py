"""MCP storage: `mcp+http://host:port/mcp` (streamable HTTP) and `mcp+sse://host:port/sse` (SSE).

Speaks the PanaversityFS tool contract through the official MCP SDK client:
  write_content / read_content / delete_content  params = {book_id, path, content?}
  glob_search                                    params = {book_id, pattern} -> paths "books/<book_id>/..."
A key `books/<book_id>/<path>` maps onto (book_id, path). What that server does, and how we cope:
  - errors arrive as `is_error` results or as plain text starting "Error": both become StorageError
    (NotFoundError when the text says the file is missing);
  - it strips surrounding whitespace from what it stores: `stored_form` applies the same strip, so the
    sync hashes (and the database records) exactly the bytes a read returns, and every write is verified
    against the hash the server reports;
  - it has no conditional create: we never need one, because keys are immutable (content hash in the key).

One MCP session per store, opened on first use and owned by a background event-loop thread; the
synchronous methods submit calls to it, at most `concurrency` in flight. A bearer token may ride in the
URL's user part (`mcp+http://TOKEN@host:port/mcp`); it is sent as an Authorization header and never
appears in `url`, messages or logs.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
from concurrent.futures import Future
from contextlib import AsyncExitStack
from typing import Any, Iterable, Iterator
from urllib.parse import unquote, urlsplit

from bookctl.errors import BookctlError, ConfigError, NotFoundError, StorageError

REQUIRED_TOOLS = ("write_content", "read_content", "delete_content", "glob_search")
BOOK_ID_RE = re.compile(r"^[a-z0-9-]{3,50}$")
MAX_PATH = 255
_MISSING_RE = re.compile(r"not found|does not exist|no such file", re.IGNORECASE)


def parse_mcp_url(url: str) -> tuple[str, str, str | None]:
    """`mcp+http://[TOKEN@]host:port/mcp` -> (transport, http URL without the token, token)."""
    scheme, sep, _rest = url.partition("://")
    transports = {"mcp+http": ("streamable-http", "http"), "mcp+https": ("streamable-http", "https"),
                  "mcp+sse": ("sse", "http")}
    if not sep or scheme not in transports:
        raise ConfigError("BOOKCTL_STORAGE_URL: expected mcp+http://host:port/mcp, mcp+https://… or mcp+sse://host:port/sse")
    transport, http_scheme = transports[scheme]
    parts = urlsplit(url)
    if not parts.hostname:
        raise ConfigError(f"BOOKCTL_STORAGE_URL: no host in the {scheme}:// URL")
    token = unquote(parts.password or parts.username or "") or None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    netloc = f"{host}:{parts.port}" if parts.port else host
    path = parts.path or ("/sse" if transport == "sse" else "/mcp")
    endpoint = f"{http_scheme}://{netloc}{path}" + (f"?{parts.query}" if parts.query else "")
    return transport, endpoint, token


def split_key(key: str) -> tuple[str, str]:
    """`books/<book_id>/<path>` -> (book_id, path), checked against the contract's limits."""
    parts = key.split("/", 2)
    if len(parts) != 3 or parts[0] != "books" or not parts[2] or any(p in ("", ".", "..") for p in parts[2].split("/")):
        raise StorageError(f"invalid object key {key!r} for MCP storage (expected books/<book_id>/<path>)")
    book_id, path = parts[1], parts[2]
    if not BOOK_ID_RE.match(book_id):
        raise StorageError(f"book id {book_id!r} does not fit MCP storage (^[a-z0-9-]+$, 3-50 characters)")
    if len(path) > MAX_PATH:
        raise StorageError(f"object path longer than {MAX_PATH} characters for MCP storage: {path[:80]}…")
    return book_id, path


class MCPStore:
    def __init__(self, url: str, *, concurrency: int = 8, timeout: float = 30.0) -> None:
        self.transport, self._endpoint, self._token = parse_mcp_url(url)
        self.url = f"{url.split('://', 1)[0]}://{self._endpoint.split('://', 1)[1]}"  # the token left out
        self.concurrency = max(1, concurrency)
        self.timeout = timeout
        self.calls: dict[str, int] = {}  # tool name -> calls made (the benchmark reports them)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._session: Any = None
        self._stop: asyncio.Event | None = None
        self._sem: asyncio.Semaphore | None = None
        self._done: Future | None = None

    # --------------------------------------------------------------- the session

    def _ensure(self) -> None:
        if self._session is None and self._loop is not None:
            self.close()  # the session ended (the server went away): start over with a new one
        with self._lock:
            if self._session is not None:
                return
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="bookctl-mcp-store", daemon=True)
            thread.start()
            ready: Future = Future()
            done = asyncio.run_coroutine_threadsafe(self._own_session(ready), loop)
            try:
                ready.result(timeout=self.timeout + 5)
            except BaseException as exc:
                done.cancel()
                loop.call_soon_threadsafe(loop.stop)
                thread.join(timeout=5)
                loop.close()
                if isinstance(exc, (ConfigError, StorageError)):
                    raise exc from None
                raise StorageError(f"MCP storage: cannot reach {self.url}: {_describe(exc)}") from None
            self._loop, self._thread, self._done = loop, thread, done

    async def _own_session(self, ready: Future) -> None:
        """Open, check and hold the session until `close`. Runs as one task, so the SDK's cancel scopes
        (entered here) are also left here."""
        from mcp import ClientSession

        try:
            async with AsyncExitStack() as stack:
                headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
                async with asyncio.timeout(self.timeout):
                    if self.transport == "sse":
                        from mcp.client.sse import sse_client

                        streams = await stack.enter_async_context(
                            sse_client(self._endpoint, headers=headers, timeout=self.timeout))
                    else:
                        import httpx2
                        from mcp.client.streamable_http import streamable_http_client

                        http = await stack.enter_async_context(httpx2.AsyncClient(
                            headers=headers, timeout=httpx2.Timeout(self.timeout, read=300)))
                        streams = await stack.enter_async_context(streamable_http_client(self._endpoint, http_client=http))
                    session = await stack.enter_async_context(ClientSession(streams[0], streams[1]))
                    await session.initialize()
                    names: set[str] = set()
                    cursor = None
                    while True:
                        listed = await session.list_tools(cursor=cursor) if cursor else await session.list_tools()
                        names.update(tool.name for tool in listed.tools)
                        cursor = getattr(listed, "next_cursor", None)
                        if not cursor:
                            break
                missing = [name for name in REQUIRED_TOOLS if name not in names]
                if missing:
                    ready.set_exception(ConfigError(
                        f"MCP storage server at {self.url} lacks the tool(s) {', '.join(missing)} "
                        "(the PanaversityFS contract needs write_content, read_content, delete_content, glob_search)"))
                    return
                self._stop, self._sem = asyncio.Event(), asyncio.Semaphore(self.concurrency)
                self._session = session
                ready.set_result(None)
                await self._stop.wait()
        except BaseException as exc:  # noqa: BLE001 - handed to the thread that is waiting for the session
            if not ready.done():
                ready.set_exception(exc)
        finally:
            self._session = None

    async def _call(self, tool: str, params: dict[str, Any]) -> Any:
        assert self._sem is not None
        async with self._sem:
            self.calls[tool] = self.calls.get(tool, 0) + 1
            result = await self._session.call_tool(tool, {"params": params}, read_timeout_seconds=self.timeout)
        text = "".join(getattr(block, "text", "") for block in result.content)
        where = f"{params.get('book_id')}/{params.get('path', params.get('pattern', ''))}"
        if result.is_error or re.match(r"Error\b", text.lstrip()):
            message = text.strip().splitlines()[0][:300] if text.strip() else "error"
            if tool in ("read_content", "delete_content") and _MISSING_RE.search(text):
                raise NotFoundError(f"object books/{where} is not in the store")
            raise StorageError(f"MCP storage {self.url}: {tool} {where} failed: {message}")
        structured = result.structured_content
        if isinstance(structured, dict) and "result" in structured and not text:
            text = structured["result"] if isinstance(structured["result"], str) else json.dumps(structured["result"])
        try:
            return json.loads(text) if text else structured
        except ValueError:
            return text

    def _run(self, tool: str, params: dict[str, Any]) -> Any:
        self._ensure()
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(self._call(tool, params), self._loop)
        try:
            return future.result(timeout=self.timeout + 5)
        except BookctlError:
            raise
        except BaseException as exc:
            future.cancel()
            self.close()  # a broken session is not reused: the next call connects again
            raise StorageError(f"MCP storage {self.url}: {tool} failed: {_describe(exc)}") from None

    # --------------------------------------------------------------- protocol

    def ping(self) -> None:
        self._ensure()
        assert self._loop is not None
        try:
            asyncio.run_coroutine_threadsafe(self._session.send_ping(), self._loop).result(timeout=self.timeout)
        except BaseException as exc:
            raise StorageError(f"MCP storage: cannot reach {self.url}: {_describe(exc)}") from None

    def stored_form(self, data: bytes) -> bytes:
        try:
            return data.decode("utf-8").strip().encode("utf-8")
        except UnicodeDecodeError:
            raise StorageError("MCP storage holds UTF-8 text only; this body is not UTF-8") from None

    def put(self, key: str, data: bytes) -> None:
        book_id, path = split_key(key)
        text = self.stored_form(data).decode("utf-8")
        if not text:
            raise StorageError(f"MCP storage cannot hold an empty (or whitespace-only) body: {key}")
        result = self._run("write_content", {"book_id": book_id, "path": path, "content": text})
        reported = result.get("file_hash") if isinstance(result, dict) else None
        expected = hashlib.sha256(text.encode("utf-8")).hexdigest()
        if reported != expected:
            raise StorageError(f"MCP storage {self.url}: write_content {key} reported hash {reported!r}, "
                               f"expected {expected} (the server stored something else)")

    def _read(self, key: str) -> dict[str, Any]:
        book_id, path = split_key(key)
        result = self._run("read_content", {"book_id": book_id, "path": path})
        if not isinstance(result, dict) or not isinstance(result.get("content"), str):
            raise StorageError(f"MCP storage {self.url}: read_content {key} gave no content")
        return result

    def get(self, key: str) -> bytes:
        return self._read(key)["content"].encode("utf-8")

    def stat(self, key: str) -> str | None:
        try:
            result = self._read(key)
        except NotFoundError:
            return None
        return result.get("file_hash_sha256") or hashlib.sha256(result["content"].encode("utf-8")).hexdigest()

    def delete_many(self, keys: Iterable[str]) -> int:
        """No batch tool in the contract: one delete_content per key, `concurrency` at a time, on one session."""
        targets = [split_key(k) for k in keys]
        if not targets:
            return 0
        self._ensure()
        assert self._loop is not None

        async def delete_all() -> None:
            await asyncio.gather(*(self._call("delete_content", {"book_id": b, "path": p}) for b, p in targets))

        future = asyncio.run_coroutine_threadsafe(delete_all(), self._loop)
        try:
            future.result(timeout=self.timeout * (1 + len(targets) // self.concurrency) + 5)
        except NotFoundError:
            pass  # deletes are idempotent on the server; a "missing" answer is fine
        except BookctlError:
            raise
        except BaseException as exc:
            future.cancel()
            raise StorageError(f"MCP storage {self.url}: delete_content failed: {_describe(exc)}") from None
        return len(targets)

    def list(self, prefix: str = "") -> Iterator[str]:
        match = re.match(r"^books/([^/]+)/", prefix)
        if not match:
            raise StorageError(f"MCP storage lists one book at a time (prefix books/<book_id>/), not {prefix!r}")
        book_id = match.group(1)
        result = self._run("glob_search", {"book_id": book_id, "pattern": "**/*"})
        if isinstance(result, dict):  # tolerate {"matches": [...]}-style answers
            result = next((v for v in result.values() if isinstance(v, list)), [])
        keys = []
        for item in result or []:
            path = str(item.get("path", "") if isinstance(item, dict) else item)
            if not path or path.endswith("/"):
                continue
            key = path if path.startswith("books/") else f"books/{book_id}/{path.lstrip('/')}"
            if key.startswith(prefix):
                keys.append(key)
        return iter(sorted(keys))

    def close(self) -> None:
        with self._lock:
            loop, thread, done = self._loop, self._thread, self._done
            self._loop = self._thread = self._done = None
            if loop is None:
                return
            if self._stop is not None:
                loop.call_soon_threadsafe(self._stop.set)
            try:
                if done is not None:
                    done.result(timeout=5)
            except BaseException:  # noqa: BLE001 - closing; the server may already be gone
                pass
            loop.call_soon_threadsafe(loop.stop)
            if thread is not None:
                thread.join(timeout=5)
            if not loop.is_running():
                loop.close()


def _describe(exc: BaseException) -> str:
    """The innermost useful message of an exception (the SDK wraps failures in exception groups)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
