"""Sync receipts: answer a no-op `bookctl sync` without parsing the book, importing SQLAlchemy or touching the store.

Most syncs (CI on every merge, an editor re-running) change nothing. After a successful sync, while it
still holds the sync lock, `run_sync` records a receipt in the database (`sync_state`): a fingerprint of
every input file and setting, a hash of the book's rows as they stand after that sync, and the result.
The next sync recomputes the fingerprint (one read + SHA-256 of the files) and re-reads the book's rows
with the plain DB driver. Only when both match, for the same store, and no sync was interrupted since
(`dirty`), is the sync a proven no-op; anything else (an edit, a hand-changed row, another store, a schema
change, any error at all) falls through to the full sync, so a receipt can make a sync faster but never
different. The database is the store's manifest, so the store is not listed (objects removed behind
bookctl's back are found by `bookctl sync --verify` and reported by `bookctl status`). The receipt lives
in the database, so two CI runners on different machines share it. Only stdlib and the DB driver are
imported here.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bookctl.db.plain import connect as _connect
from bookctl.db.revisions import quick_head

if TYPE_CHECKING:
    from bookctl.config import Settings

FORMAT = 1  # bump when what a receipt covers changes: older receipts then never match
_TABLES = ("books", "parts", "chapters", "lessons")


def fingerprint(settings: "Settings") -> str:
    """SHA-256 over every file of the book (paths and bytes) and the settings that shape the result."""
    root = Path(settings.book_dir)
    digest = hashlib.sha256(json.dumps([FORMAT, settings.route_base, settings.book_slug]).encode())
    # A Docusaurus book may have no curriculum.md (its outline is the tree): then there is nothing to hash for it,
    # and adding one later changes the fingerprint all the same.
    if (root / "curriculum.md").is_file():
        _add(digest, "curriculum.md", _fingerprint_bytes(root, root / "curriculum.md"))
    docs = root / "docs"
    real_root, real_docs = os.path.realpath(root), os.path.realpath(docs)
    # Files reached without crossing a symlink are inside the book when docs/ itself is: they need no realpath
    # (which was most of a no-op's cost). Anything else takes the careful path, _fingerprint_bytes.
    plain = real_docs.startswith(real_root.rstrip(os.sep) + os.sep)
    _walk(digest, root, str(docs), "docs", plain)
    return digest.hexdigest()


def _add(digest: "hashlib._Hash", rel: str, data: bytes) -> None:
    digest.update(rel.encode() + b"\0")
    digest.update(hashlib.sha256(data).digest())


def _walk(digest: "hashlib._Hash", root: Path, folder: str, rel: str, plain: bool) -> None:
    """os.walk's order (names sorted; a folder's files, then its symlinked sub-folders, then its sub-folders)
    with what each entry is taken from scandir's cached type, so a plain file costs one open and one read."""
    try:
        with os.scandir(folder) as found:
            entries = sorted(found, key=lambda e: e.name)
    except OSError:
        return  # like os.walk: an unreadable folder is skipped (the parser reports it)
    dirs, files = [], []
    for entry in entries:
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        (dirs if is_dir else files).append(entry)
    for entry in files:
        if plain and not entry.is_symlink() and entry.is_file(follow_symlinks=False):
            try:
                with open(entry.path, "rb") as fh:
                    data = fh.read()
            except OSError:
                data = _fingerprint_bytes(root, Path(entry.path))
        else:
            data = _fingerprint_bytes(root, Path(entry.path))
        _add(digest, f"{rel}/{entry.name}", data)
    # a symlinked folder is not walked into, but the parser looks at it (and refuses one that leaves the
    # book or loops): its appearance must change the fingerprint
    for entry in dirs:
        if entry.is_symlink():
            _add(digest, f"{rel}/{entry.name}", _fingerprint_bytes(root, Path(entry.path)))
    for entry in dirs:
        if not entry.is_symlink():
            _walk(digest, root, entry.path, f"{rel}/{entry.name}", plain)


def _fingerprint_bytes(root: Path, path: Path) -> bytes:
    """A file's bytes; for a symlink leaving the book, a dangling one or a non-regular file (a FIFO, a link
    to /dev/zero), what it is instead: reading those could hang or read secrets, and the parser refuses them."""
    import stat

    try:  # stdlib only (see the module docstring); the same rule as curriculum.safety.resolve_inside
        real = Path(os.path.realpath(path, strict=True))
        inside = Path(os.path.realpath(root)) in real.parents
        regular = stat.S_ISREG(real.stat().st_mode)
    except (OSError, RuntimeError):
        inside = regular = False
    if not (inside and regular):
        return b"not-read:" + (os.readlink(path).encode() if path.is_symlink() else b"special")
    return real.read_bytes()


def db_state(url: str, book_slug: str) -> tuple[str, set[str]] | None:
    """(hash of the book's rows in every sync table, object keys the rows refer to), or None."""
    conn = _connect(url)
    if conn is None:
        return None
    mark = "?" if url.startswith("sqlite") else "%s"
    try:
        cur = conn.cursor()
        cur.execute("SELECT version_num FROM alembic_version")
        if [r[0] for r in cur.fetchall()] != [quick_head()]:
            return None
        cur.execute(f"SELECT id FROM books WHERE slug = {mark}", (book_slug,))
        found = cur.fetchall()
        if len(found) != 1:
            return None
        book_id = found[0][0]
        digest = hashlib.sha256()
        keys: set[str] = set()
        queries = {
            "books": f"SELECT * FROM books WHERE id = {mark}",
            "parts": f"SELECT * FROM parts WHERE book_id = {mark}",
            "chapters": f"SELECT * FROM chapters WHERE part_id IN (SELECT id FROM parts WHERE book_id = {mark})",
            "lessons": f"SELECT * FROM lessons WHERE book_id = {mark}",
        }
        for table in _TABLES:
            cur.execute(queries[table], (book_id,))
            columns = [c[0] for c in cur.description]
            # lessons.vector_ids is written by `embed`, not by sync: an embed must not void sync's receipt
            keep = [i for i, c in enumerate(columns) if (table, c) != ("lessons", "vector_ids")]
            columns = [columns[i] for i in keep]
            rows = sorted(repr(tuple(row[i] for i in keep)) for row in cur.fetchall())
            digest.update(repr((table, columns, rows)).encode())
            if table == "lessons":
                cur.execute(f"SELECT bucket_path FROM lessons WHERE book_id = {mark} AND bucket_path IS NOT NULL", (book_id,))
                keys = {r[0] for r in cur.fetchall()}
        return digest.hexdigest(), keys
    finally:
        conn.close()


def fingerprint_or_none(settings: "Settings") -> str | None:
    """The fingerprint, or None when the book cannot be read (the full sync then says why; no receipt)."""
    try:
        return fingerprint(settings)
    except OSError:
        return None


def try_noop(settings: "Settings", print_: str | None = None) -> dict[str, Any] | None:
    """The result of a sync that has nothing to do, or None when that cannot be proven cheaply.

    `print_`: the book's fingerprint when the caller took it already (it is computed here otherwise)."""
    from bookctl.storage import store_identity

    try:
        if print_ is None:
            print_ = fingerprint(settings)
        conn = _connect(settings.database_url)
        if conn is None:
            return None
        mark = "?" if settings.database_url.startswith("sqlite") else "%s"
        try:
            cur = conn.cursor()
            cur.execute(f"SELECT book_slug, db_state, result FROM sync_state WHERE fingerprint = {mark} "
                        f"AND store_id = {mark} AND dirty = {mark}",
                        (print_, store_identity(settings.storage_url), False))
            found = cur.fetchall()
        finally:
            conn.close()
        if len(found) != 1:
            return None
        slug, recorded_state, raw = found[0]
        result = json.loads(raw)
        if result.get("book") != slug or not re.fullmatch(r"[a-z0-9-]+", str(slug)):
            return None
        state = db_state(settings.database_url, slug)
        if state is None or state[0] != recorded_state:
            return None
    except Exception:  # noqa: BLE001 - a receipt only ever shortcuts; the full sync decides
        return None
    return {**result, "created": 0, "updated": 0, "deleted": 0, "uploaded": 0, "objects_deleted": 0,
            "repaired": 0, "unchanged": result["lessons"], "plan": [], "dry_run": False,
            "changes": [], "moved": [], "removed": [], "failed_on": []}  # issue 16: a no-op moves no URL
