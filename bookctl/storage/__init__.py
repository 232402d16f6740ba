"""Object stores for lesson bodies, chosen by URL scheme."""

from __future__ import annotations

from bookctl.errors import ConfigError
from bookctl.storage.base import ObjectStore, lesson_key


def open_store(url: str) -> ObjectStore:
    scheme = url.split("://", 1)[0]
    if scheme == "file":
        from bookctl.storage.file import FileStore

        return FileStore(url)
    raise ConfigError(f"BOOKCTL_STORAGE_URL: the {scheme}:// backend is not available in this version (use file://)")


__all__ = ["ObjectStore", "lesson_key", "open_store"]
