"""Object stores for lesson bodies, chosen by URL scheme."""

from __future__ import annotations

from bookctl.errors import ConfigError
from bookctl.storage.base import ObjectStore, lesson_key, put_all, sha256_hex


def open_store(url: str, *, concurrency: int = 8, max_attempts: int = 5) -> ObjectStore:
    """The store for `url`. Opening never connects (the API opens a runtime without touching the store);
    `store.ping()` checks that it can be reached."""
    scheme = url.split("://", 1)[0]
    if scheme == "file":
        from bookctl.storage.file import FileStore

        return FileStore(url)
    if scheme == "s3":
        from bookctl.storage.s3 import S3Store

        return S3Store(url, concurrency=concurrency, max_attempts=max_attempts)
    if scheme in ("mcp+http", "mcp+https", "mcp+sse"):
        from bookctl.storage.mcp_client import MCPStore

        return MCPStore(url, concurrency=concurrency)
    raise ConfigError(f"BOOKCTL_STORAGE_URL: unknown storage scheme {scheme}:// (use file://, s3:// or mcp+http://)")


def store_identity(url: str) -> str:
    """A stable id for the store behind `url` with any secret left out (what the database records)."""
    import hashlib
    import os
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    where = f"{parts.scheme}://{netloc}{parts.path}"
    if parts.scheme == "s3":  # the same bucket name on another endpoint is another store
        where += " " + (os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or "aws")
    return hashlib.sha256(where.encode()).hexdigest()[:32]


__all__ = ["ObjectStore", "lesson_key", "open_store", "put_all", "sha256_hex", "store_identity"]
