"""The ObjectStore protocol: lesson bodies by key. Backends: file (default); s3 and mcp come later."""

from __future__ import annotations

from typing import Iterable, Protocol, runtime_checkable


@runtime_checkable
class ObjectStore(Protocol):
    """Keys are '/'-separated paths such as books/{book}/parts/{part}/chapters/{chapter}/lessons/{slug}.md.

    `put` is atomic: a reader (or a crash) never sees half an object. Every method raises
    bookctl.errors.StorageError when the store cannot be reached.
    """

    url: str

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...  # raises NotFoundError for a missing key

    def delete(self, key: str) -> None: ...  # deleting a missing key is not an error

    def list(self, prefix: str = "") -> Iterable[str]: ...


def lesson_key(book: str, slug: str, part_folder: str | None, chapter_folder: str | None) -> str:
    """The key layout from DESIGN.md. Part pages go under the part, book pages under the book."""
    name = slug.rsplit("/", 1)[-1]
    if part_folder and chapter_folder:
        return f"books/{book}/parts/{part_folder}/chapters/{chapter_folder}/lessons/{name}.md"
    if part_folder:
        return f"books/{book}/parts/{part_folder}/pages/{name}.md"
    return f"books/{book}/pages/{slug}.md"
