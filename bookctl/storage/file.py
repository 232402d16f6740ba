"""Object store on the local filesystem (the embedded default): `file://.bookctl/storage`."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

from bookctl.errors import NotFoundError, StorageError
from bookctl.storage.base import sha256_hex

_TMP_PREFIX = ".tmp-"


def write_atomically(path: Path, data: bytes) -> None:
    """Write a temporary file beside `path` and rename it over: atomic on POSIX, so a crash leaves either the
    old file or the new one, never half of one (the temporary's prefix marks leftovers of a killed writer)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class FileStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self.root = Path(url.removeprefix("file://"))

    def _path(self, key: str) -> Path:
        parts = [p for p in key.split("/") if p]
        if not parts or any(p in (".", "..") for p in parts):
            raise StorageError(f"invalid object key {key!r}")
        return self.root.joinpath(*parts)

    def ping(self) -> None:
        """Cheap reachability check (sync, readiness): the root is, or can be made, a writable directory."""
        existing = self.root
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
            raise StorageError(f"the file store {self.root} is not a writable directory")

    def stored_form(self, data: bytes) -> bytes:
        return data

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        try:
            write_atomically(path, data)
        except OSError as exc:
            raise StorageError(f"cannot write {key} to {self.url}: {exc.strerror or exc}") from exc

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"object {key} is not in the store") from None
        except OSError as exc:
            raise StorageError(f"cannot read {key} from {self.url}: {exc.strerror or exc}") from exc

    def stat(self, key: str) -> str | None:
        try:
            return sha256_hex(self.get(key))
        except NotFoundError:
            return None

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot delete {key} from {self.url}: {exc.strerror or exc}") from exc
        self._prune(path.parent)

    def delete_many(self, keys: Iterable[str]) -> int:
        count = 0
        for key in keys:
            self.delete(key)
            count += 1
        return count

    def _prune(self, folder: Path) -> None:
        """Remove folders a delete left empty (a lesson's old layout), up to the store root."""
        while folder != self.root and self.root in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    def list(self, prefix: str = "") -> Iterator[str]:
        base = self.root
        if not base.is_dir():
            return iter(())
        keys = []
        for dirpath, _dirs, files in os.walk(base):
            rel = Path(dirpath).relative_to(base).as_posix()
            for name in files:
                key = name if rel == "." else f"{rel}/{name}"
                if name.startswith(_TMP_PREFIX):
                    # Left by a crash mid-write; never an object. Clean it up while we are here.
                    Path(dirpath, name).unlink(missing_ok=True)
                    continue
                if key.startswith(prefix):
                    keys.append(key)
        return iter(sorted(keys))

    def close(self) -> None:
        return None
