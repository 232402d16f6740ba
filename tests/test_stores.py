"""The fixture book synced to every store (file, S3 on moto, MCP over streamable HTTP and SSE), through the CLI.

Each case: a cold sync, a no-op, one edit, a removed page, orphan clean-up and `--verify` repair, and the
content API serving each lesson from that store, byte for byte what its row records.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from bookctl.config import load_settings
from bookctl.content.service import ContentService
from bookctl.curriculum.frontmatter import strip_front_matter
from bookctl.runtime import Runtime
from tests.conftest import Workspace, make_workspace
from tests.storeutil import Backend, backend  # noqa: F401 - the fixture
from tests.syncutil import check_consistent, database_url, dump_lessons

CH1 = "docs/01-Physical-AI-Foundations/01-what-is-physical-ai"
BOOK = "physical-ai-humanoid-robotics"


def sync(ws: Workspace, *args: str) -> dict:
    result = ws.run("sync", "--json", *args)
    assert result.code == 0, result.stderr
    return result.json


def workspace_for(tmp_path: Path, fixture_book: Path, backend: Backend) -> Workspace:
    ws = make_workspace(tmp_path / "ws", fixture_book)
    ws.env.update(backend.env)
    return ws


def served_bodies(ws: Workspace) -> dict[str, str]:
    """slug -> markdown as the content API's service serves it (from the configured store)."""
    saved = dict(__import__("os").environ)
    __import__("os").environ.update(ws.env)
    try:
        runtime = Runtime.open(load_settings())
    finally:
        __import__("os").environ.clear()
        __import__("os").environ.update(saved)
    try:
        content = ContentService(runtime)
        return {e.lesson.slug: content.lesson_content(e.lesson.slug).content for e in content.snapshot().written()}
    finally:
        runtime.close()


def test_sync_noop_edit_delete_verify(tmp_path: Path, fixture_book: Path, backend: Backend) -> None:
    ws = workspace_for(tmp_path, fixture_book, backend)
    cold = sync(ws)
    assert (cold["created"], cold["uploaded"]) == (34, 19)
    url = database_url(ws)
    check_consistent(url, backend.dump())
    rows = {r["slug"]: r for r in dump_lessons(url)}
    for slug, text in served_bodies(ws).items():  # the API serves every lesson from this store
        row = rows[slug]
        source = (ws.book / row["source_path"]).read_bytes()
        if backend.name.startswith("mcp"):  # the server strips surrounding whitespace; the row records that
            source = source.decode().strip().encode()
        assert hashlib.sha256(source).hexdigest() == row["content_hash"]
        assert text == strip_front_matter(source.decode())

    if backend.proxy:
        backend.proxy.faults.seen.clear()
    noop = sync(ws)
    assert (noop["uploaded"], noop["updated"], noop["objects_deleted"]) == (0, 0, 0)
    if backend.proxy:
        assert backend.proxy.faults.seen == []  # the receipt in the database: not one request to the store
    from sqlalchemy import text

    from bookctl.db.engine import make_engine

    engine = make_engine(url)
    with engine.begin() as conn:  # a row changed by hand: no receipt, a full sync, which must not list the store
        conn.execute(text("UPDATE lessons SET title = 'changed by hand' WHERE slug = 'intro'"))
    engine.dispose()
    full_noop = sync(ws)
    assert (full_noop["uploaded"], full_noop["objects_deleted"], full_noop["updated"]) == (0, 0, 1)
    if backend.proxy:
        assert not any("list-type" in path for _m, path in backend.proxy.faults.seen), backend.proxy.faults.seen

    lesson = ws.book / CH1 / "02-lesson-embodiment-hypothesis.md"
    lesson.write_bytes(lesson.read_bytes() + b"\nOne more paragraph.\n")
    edited = sync(ws)
    assert (edited["uploaded"], edited["updated"], edited["objects_deleted"]) == (1, 1, 1)
    check_consistent(url, backend.dump())

    shutil.rmtree(ws.book / "docs/course-overview")
    removed = sync(ws)
    assert removed["deleted"] == 1 and removed["objects_deleted"] == 1
    assert not any("course-overview" in key for key in backend.dump())
    check_consistent(url, backend.dump())

    objects = sorted(backend.dump())
    backend.delete_raw(objects[0])
    backend.put_raw(f"books/{BOOK}/parts/old/chapters/gone/lessons/stray.0000000000000000.md", b"orphan")
    status = ws.run("status", "--json")
    assert status.code == 0, status.stderr
    assert (status.json["objects"]["missing"], status.json["objects"]["orphans"]) == (1, 1)
    verified = sync(ws, "--verify")
    assert (verified["uploaded"], verified["repaired"], verified["objects_deleted"]) == (1, 1, 1)
    check_consistent(url, backend.dump())
    assert sync(ws, "--verify")["uploaded"] == 0


def test_an_existing_store_converges_to_the_hashed_layout(tmp_path: Path, fixture_book: Path, backend: Backend) -> None:
    """A store written by the previous layout (no hash in the key) is upgraded by the first sync after it."""
    from sqlalchemy import text

    from bookctl.db.engine import make_engine

    ws = workspace_for(tmp_path, fixture_book, backend)
    sync(ws)
    url = database_url(ws)
    engine = make_engine(url)
    with engine.begin() as conn:  # rewind to what the previous version left: old keys, no sync_state
        for row in dump_lessons(url):
            if row["bucket_path"]:
                old = row["bucket_path"].rsplit(".", 2)[0] + ".md"
                backend.put_raw(old, backend.dump()[row["bucket_path"]])
                backend.delete_raw(row["bucket_path"])
                conn.execute(text("UPDATE lessons SET bucket_path = :old WHERE slug = :slug"),
                             {"old": old, "slug": row["slug"]})
        conn.execute(text("DELETE FROM sync_state"))
    engine.dispose()
    data = sync(ws)
    assert (data["uploaded"], data["objects_deleted"], data["updated"]) == (19, 19, 19)
    check_consistent(url, backend.dump())
    assert all(len(key.rsplit(".", 2)[1]) == 16 for key in backend.dump())


@pytest.mark.parametrize("backend", ["s3"], indirect=True)
def test_s3_objects_carry_their_sha256(tmp_path: Path, fixture_book: Path, backend: Backend) -> None:
    from tests.fakes.stores import s3_client

    ws = workspace_for(tmp_path, fixture_book, backend)
    sync(ws)
    client = s3_client(backend.extra["endpoint"])
    row = next(r for r in dump_lessons(database_url(ws)) if r["bucket_path"])
    head = client.head_object(Bucket=backend.extra["bucket"], Key=f"prod/{row['bucket_path']}", ChecksumMode="ENABLED")
    assert head["Metadata"]["sha256"] == row["content_hash"]
    import base64

    assert base64.b64decode(head["ChecksumSHA256"]).hex() == row["content_hash"]
