"""The ObjectStore protocol and the key layout. Backends: file (default), s3, mcp (PanaversityFS contract).

Objects are immutable: a lesson body's key carries its content hash, so a new version of a lesson is a new
object and the old one is deleted only after the database has switched to the new key (see
bookctl/pipeline/sync.py). A reader holding a row therefore always finds exactly the bytes the row records.
"""

from __future__ import annotations

import hashlib
from typing import Callable, Iterable, Protocol, runtime_checkable

#: Hex digits of the SHA-256 kept in a key: 64 bits, plenty to tell versions of one lesson apart, and short
#: enough to keep keys readable and under the 255-character path limit of MCP storage servers.
KEY_HASH_CHARS = 16


@runtime_checkable
class ObjectStore(Protocol):
    """Keys are '/'-separated paths such as books/{book}/parts/{part}/chapters/{chapter}/lessons/{slug}.{hash}.md.

    `put` is atomic: a reader (or a crash) never sees half an object. Every method raises
    bookctl.errors.StorageError when the store cannot be reached (ConfigError when it is misconfigured:
    a missing bucket, denied access, a server without the tools we need). All methods are thread-safe.
    """

    url: str  # for messages: never carries a secret

    def ping(self) -> None: ...  # cheap reachability check (readyz, and before a sync writes anything)

    def stored_form(self, data: bytes) -> bytes: ...  # the exact bytes a later `get` returns for `data`

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...  # raises NotFoundError for a missing key

    def stat(self, key: str) -> str | None: ...  # SHA-256 (hex) of the stored object, None when missing

    def delete_many(self, keys: Iterable[str]) -> int: ...  # missing keys are not an error; returns the count

    def list(self, prefix: str = "") -> Iterable[str]: ...

    def close(self) -> None: ...


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def lesson_key(book: str, slug: str, part_folder: str | None, chapter_folder: str | None,
               digest: str | None = None) -> str:
    """The key layout (README, "Object store layout"). Part pages go under the part, book pages under the book.

    With `digest` (the body's SHA-256) the file name carries its first 16 hex digits: `lesson-x.0123abcd….md`.
    """
    name = slug.rsplit("/", 1)[-1]
    suffix = f".{digest[:KEY_HASH_CHARS]}.md" if digest else ".md"
    if part_folder and chapter_folder:
        return f"books/{book}/parts/{part_folder}/chapters/{chapter_folder}/lessons/{name}{suffix}"
    if part_folder:
        return f"books/{book}/parts/{part_folder}/pages/{name}{suffix}"
    return f"books/{book}/pages/{slug}{suffix}"


def put_all(store: ObjectStore, items: list[tuple[str, bytes]], concurrency: int,
            on_done: Callable[[int, int], None] | None = None) -> None:
    """Upload `items` with at most `concurrency` puts in flight; the first failure stops the rest and is raised."""
    if not items:
        return
    total = len(items)
    if concurrency <= 1 or total == 1:
        for done, (key, data) in enumerate(items, start=1):
            store.put(key, data)
            if on_done:
                on_done(done, total)
        return
    from concurrent.futures import ThreadPoolExecutor  # here: a no-op sync imports this module, uploads nothing

    with ThreadPoolExecutor(max_workers=min(concurrency, total), thread_name_prefix="bookctl-put") as pool:
        futures = [pool.submit(store.put, key, data) for key, data in items]
        done = 0
        try:
            for future in futures:  # in submission order: the first error raised is the first failed key
                future.result()
                done += 1
                if on_done:
                    on_done(done, total)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
