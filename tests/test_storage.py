"""The file object store (the embedded default) and the key layout from DESIGN.md."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bookctl.errors import ConfigError, NotFoundError, StorageError
from bookctl.storage import lesson_key, open_store
from bookctl.storage.file import FileStore


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    store = open_store(f"file://{tmp_path / 'objects'}")
    assert isinstance(store, FileStore)
    return store


def test_put_get_list_delete(store: FileStore) -> None:
    assert list(store.list()) == []  # the root does not exist yet
    store.put("books/b/pages/intro.md", b"hello")
    store.put("books/b/parts/p/pages/index.md", b"part")
    store.put("books/other/pages/x.md", b"x")
    assert store.get("books/b/pages/intro.md") == b"hello"
    store.put("books/b/pages/intro.md", b"replaced")
    assert store.get("books/b/pages/intro.md") == b"replaced"
    assert list(store.list("books/b/")) == ["books/b/pages/intro.md", "books/b/parts/p/pages/index.md"]
    assert len(list(store.list())) == 3
    assert store.stat("books/b/pages/intro.md") == hashlib.sha256(b"replaced").hexdigest()
    assert store.delete_many(["books/b/pages/intro.md", "books/b/pages/intro.md"]) == 2  # a missing key is fine
    assert store.stat("books/b/pages/intro.md") is None
    with pytest.raises(NotFoundError):
        store.get("books/b/pages/intro.md")
    assert list(store.list("books/b/")) == ["books/b/parts/p/pages/index.md"]


def test_leftover_temporary_files_are_never_objects(store: FileStore) -> None:
    store.put("books/b/pages/a.md", b"a")
    leftover = store.root / "books/b/pages/.tmp-abc123"
    leftover.write_bytes(b"half an object")
    assert list(store.list()) == ["books/b/pages/a.md"]
    assert not leftover.exists()  # cleaned up on the way
    assert [p.name for p in (store.root / "books/b/pages").iterdir()] == ["a.md"]  # put leaves no temp file


@pytest.mark.parametrize("key", ["", "/", "../escape.md", "books/../../x", "books/./x"])
def test_invalid_keys(store: FileStore, key: str) -> None:
    with pytest.raises(StorageError):
        store.put(key, b"x")


def test_unwritable_store_raises_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    store = FileStore(f"file://{blocker}")
    with pytest.raises(StorageError, match="cannot write"):
        store.put("books/b/x.md", b"x")


def test_unknown_backend_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="BOOKCTL_STORAGE_URL"):
        open_store("gopher://host/x")


def test_key_layout() -> None:
    digest = "0123456789abcdef" * 4
    assert (lesson_key("book", "ch/lesson-a", "01-Part", "01-ch", digest)
            == "books/book/parts/01-Part/chapters/01-ch/lessons/lesson-a.0123456789abcdef.md")
    assert lesson_key("book", "course-overview/index", None, None, digest) == "books/book/pages/course-overview/index.0123456789abcdef.md"
    assert lesson_key("book", "ch/lesson-a", "01-Part", "01-ch") == "books/book/parts/01-Part/chapters/01-ch/lessons/lesson-a.md"
    assert lesson_key("book", "part/index", "01-Part", None) == "books/book/parts/01-Part/pages/index.md"
    assert lesson_key("book", "course-overview/index", None, None) == "books/book/pages/course-overview/index.md"
