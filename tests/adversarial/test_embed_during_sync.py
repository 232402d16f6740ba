"""`embed` while a sync moves lessons (issue 11, item 7): embed reads rows and bodies as one snapshot under
the sync lock, so a sync that commits and sweeps the old objects mid-embed cannot make it fail with
"object … is not in the store", and chunks of lessons the sync deleted are not written."""

from __future__ import annotations

from sqlalchemy import select

from bookctl.db import models as m
from tests.syncutil import database_url

CHAPTER = "docs/01-Physical-AI-Foundations/01-what-is-physical-ai"


def test_a_sync_moving_lessons_in_the_middle_of_an_embed(embed_ws) -> None:
    from bookctl.config import load_settings
    from bookctl.curriculum import book_slug
    from bookctl.llm.embedders import make_embedder
    from bookctl.pipeline.embed import embed_book
    from bookctl.runtime import Runtime

    ws = embed_ws
    settings = load_settings({**ws.env, "BOOKCTL_EMBED_BATCH_INPUTS": "1", "BOOKCTL_EMBED_CONCURRENCY": "1"})
    runtime = Runtime.open(settings)
    synced_mid_embed = []

    def sync_a_rename(done: int) -> None:
        """After the first group: rename every lesson of a later chapter (new slugs, new object keys), sync."""
        if synced_mid_embed:
            return
        chapter = ws.book / "docs/01-Physical-AI-Foundations/03-humanoid-robotics-landscape"
        for path in sorted(chapter.glob("0*-lesson-*.md")):
            path.rename(path.with_name(path.name.replace("-lesson-", "-lesson-renamed-")))
        result = ws.run("sync", "--json")
        assert result.code == 0, result.stderr
        synced_mid_embed.append(result.json)

    try:
        result = embed_book(runtime, book_slug(ws.book), make_embedder(settings), after_group=sync_a_rename)
    finally:
        runtime.close()
    assert synced_mid_embed and synced_mid_embed[0]["objects_deleted"] >= 1, synced_mid_embed
    assert result.lessons == 19

    # no chunk points at a lesson row that is gone; the next embed finishes the moved lessons
    from bookctl.db.engine import make_engine

    engine = make_engine(database_url(ws))
    with engine.connect() as conn:
        lesson_ids = set(conn.execute(select(m.Lesson.id)).scalars())
        chunk_lessons = set(conn.execute(select(m.Chunk.lesson_id)).scalars())
    engine.dispose()
    assert chunk_lessons <= lesson_ids
    # The renamed lessons keep their rows (same body: issue 11 item 1), so what was embedded from the snapshot
    # is theirs; the next embed converges (every written lesson has chunks) and the one after changes nothing.
    again = ws.run("embed", "--json")
    assert again.code == 0, again.stderr
    engine = make_engine(database_url(ws))
    with engine.connect() as conn:
        written = set(conn.execute(select(m.Lesson.id).where(m.Lesson.status == "written",
                                                             m.Lesson.removed_at.is_(None))).scalars())
        embedded = set(conn.execute(select(m.Chunk.lesson_id)).scalars())
    engine.dispose()
    assert written and written <= embedded
    assert ws.run("embed", "--json").json["changed"] == 0
