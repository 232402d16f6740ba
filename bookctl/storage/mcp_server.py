"""A reference MCP storage server speaking the PanaversityFS tool contract, on the official SDK (MCPServer).

Files live at `ROOT/books/<book_id>/<path>`. Tools (each takes ONE argument, `params`; unknown keys refused):
  write_content  {book_id, path, content, file_hash?} -> {status, path, file_size, file_hash, mode}
  read_content   {book_id, path}                      -> {content, file_size, last_modified, storage_backend, file_hash_sha256}
  delete_content {book_id, path}                      -> {existed}
  glob_search    {book_id, pattern}                   -> ["books/<book_id>/…", …]
Like PanaversityFS: content is stored with surrounding whitespace stripped (the returned hash covers the
stripped bytes); `file_hash` makes a write conditional on the current hash, and a conditional write of a
missing file is an error (no conditional create); validation and hash conflicts are `is_error` results,
a missing file or a bad path an ordinary result whose text starts with "Error ". Writes are atomic
(temporary file + rename); a path that leaves the book's folder is refused.
"""

from __future__ import annotations

import hashlib
import json
import socket
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from bookctl.storage.file import write_atomically

BookId = Annotated[str, Field(pattern=r"^[a-z0-9-]+$", min_length=3, max_length=50)]
ContentPath = Annotated[str, Field(min_length=1, max_length=255)]


class ContentParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    book_id: BookId
    path: ContentPath
    content: Annotated[str, Field(min_length=1, max_length=500_000)] | None = None
    file_hash: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None


class GlobParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    book_id: BookId
    pattern: Annotated[str, Field(min_length=1, max_length=255)]


class _BadPath(Exception):
    pass


def build_server(root: Path, *, log_level: str = "WARNING"):
    """The MCPServer with the four tools, serving files under `root`."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    root = Path(root).resolve()
    server = MCPServer("bookctl-storage", instructions="Book content storage (PanaversityFS tool contract).",
                       log_level=log_level)  # INFO would log every session's id

    def book_dir(book_id: str) -> Path:
        return root / "books" / book_id

    def resolve(params: ContentParams) -> Path:
        base = book_dir(params.book_id)
        target = (base / params.path).resolve()
        if target == base.resolve() or base.resolve() not in target.parents:
            raise _BadPath(f"path {params.path!r} is outside book {params.book_id!r}")
        return target

    @server.tool()
    def write_content(params: ContentParams) -> str:
        """Write a file (content stripped of surrounding whitespace). With file_hash: only if the file's hash matches."""
        if params.content is None:
            raise ToolError("validation: content is required")
        try:
            target = resolve(params)
        except _BadPath as exc:
            return f"Error writing content: {exc}"
        data = params.content.strip().encode("utf-8")
        if not data:
            raise ToolError("validation: content is empty once stripped")
        existed = target.is_file()
        if params.file_hash is not None:
            if not existed:
                raise ToolError(f"conflict: {params.path} does not exist (no conditional create)")
            current = hashlib.sha256(target.read_bytes()).hexdigest()
            if current != params.file_hash:
                raise ToolError(f"conflict: {params.path} has hash {current}, not {params.file_hash}")
        write_atomically(target, data)  # the file store's own write: never half a file after a crash
        return json.dumps({"status": "success", "path": f"books/{params.book_id}/{params.path}",
                           "file_size": len(data), "file_hash": hashlib.sha256(data).hexdigest(),
                           "mode": "updated" if existed else "created"})

    @server.tool()
    def read_content(params: ContentParams) -> str:
        """Read a file: its content, size, modification time and SHA-256."""
        try:
            target = resolve(params)
            data = target.read_bytes()
        except _BadPath as exc:
            return f"Error reading content: {exc}"
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return f"Error reading content: file not found: books/{params.book_id}/{params.path}"
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return f"Error reading content: books/{params.book_id}/{params.path} is not UTF-8 text"
        modified = datetime.fromtimestamp(target.stat().st_mtime, timezone.utc).isoformat()
        return json.dumps({"content": text, "file_size": len(data), "last_modified": modified,
                           "storage_backend": "fs", "file_hash_sha256": hashlib.sha256(data).hexdigest()})

    @server.tool()
    def delete_content(params: ContentParams) -> str:
        """Delete a file; deleting a missing file is not an error."""
        try:
            target = resolve(params)
        except _BadPath as exc:
            return f"Error deleting content: {exc}"
        existed = target.is_file()
        target.unlink(missing_ok=True)
        folder = target.parent
        base = book_dir(params.book_id).resolve()
        while folder != base and base in folder.parents:  # leave no empty folders behind
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent
        return json.dumps({"existed": existed})

    @server.tool()
    def glob_search(params: GlobParams) -> str:
        """Files of a book matching a glob pattern (e.g. `**/*`), as `books/<book_id>/<path>`."""
        if ".." in params.pattern.split("/") or params.pattern.startswith("/"):
            return f"Error searching: pattern {params.pattern!r} leaves the book"
        base = book_dir(params.book_id)
        if not base.is_dir():
            return json.dumps([])
        found = sorted(f"books/{params.book_id}/{p.relative_to(base).as_posix()}" for p in base.glob(params.pattern)
                       if p.is_file() and not p.name.startswith(".tmp-"))
        return json.dumps(found)

    return server


def serve(root: Path, *, host: str = "127.0.0.1", port: int = 8001, transport: str = "streamable-http",
          announce=None) -> None:
    """Run the server until interrupted. Binds first (port 0 picks a free port), then calls `announce(url)`."""
    import uvicorn

    server = build_server(root)
    if transport == "sse":
        app, path = server.sse_app(host=host), "/sse"
    elif transport == "streamable-http":
        app, path = server.streamable_http_app(host=host), "/mcp"
    else:
        raise ValueError(f"unknown transport {transport!r}")
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    scheme = "mcp+sse" if transport == "sse" else "mcp+http"
    if announce is not None:
        announce(f"{scheme}://{host}:{bound}{path}")
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])
    sys.stdout.flush()
