"""The book: tree, parts, chapters, lessons by slug or by route, and lesson markdown."""

from __future__ import annotations

from typing import Annotated

import anyio
from litestar import Controller, get
from litestar.params import FromPath, QueryParameter

from bookctl.api.deps import Content
from bookctl.api.errors import error_responses
from bookctl.content import schemas as s
from bookctl.content.service import Snapshot

CONTENT_SUFFIX = "/content"


async def snapshot(content: Content) -> Snapshot:
    """The cached snapshot; DB I/O (at most once a second) runs in a worker thread."""
    return content.fresh() or await anyio.to_thread.run_sync(content.snapshot)


class ContentController(Controller):
    path = "/api/content"
    tags = ["Content"]
    security = []

    @get("/book", operation_id="getBook", responses=error_responses(404), summary="The whole book: parts, chapters, lessons")
    async def book(self, content: Content) -> s.Book:
        return (await snapshot(content)).book

    @get("/parts", operation_id="listParts", responses=error_responses(404), summary="Every part, with counts")
    async def parts(self, content: Content) -> list[s.PartSummary]:
        return (await snapshot(content)).part_summaries

    @get("/parts/{number:int}", operation_id="getPart", responses=error_responses(400, 404), summary="One part with its chapters")
    async def part(self, content: Content, number: FromPath[int]) -> s.Part:
        await snapshot(content)
        return content.part(number)

    @get("/chapters/{number:int}", operation_id="getChapter", responses=error_responses(400, 404),
         summary="One chapter (global number) with its lessons")
    async def chapter(self, content: Content, number: FromPath[int]) -> s.Chapter:
        await snapshot(content)
        return content.chapter(number)

    @get("/lessons", operation_id="getLessonByRoute", responses=error_responses(301, 400, 404), summary="A lesson by its route (?route=/docs/...)")
    async def lesson_by_route(
        self, content: Content,
        route: Annotated[str, QueryParameter(name="route", min_length=1, max_length=500,
                                             description="The URL path Docusaurus serves the lesson at")],
    ) -> s.Lesson:
        await snapshot(content)
        return content.lesson(route)

    @get("/lessons/{ref:path}", operation_id="getLesson", responses=error_responses(301, 400, 404, 503),
         summary="A lesson by slug or route; append /content for its markdown")
    async def lesson(self, content: Content, ref: FromPath[str]) -> s.Lesson | s.LessonContent:
        """`ref` is a slug (`what-is-physical-ai/lesson-embodiment-hypothesis`) or a route
        (`docs/Physical-AI-Foundations/...`, trailing slash optional). With a `/content` suffix the response is
        the lesson's markdown (`LessonContent`); a planned lesson then gives a 404 saying it has no content yet.
        """
        await snapshot(content)
        ref = ref.strip("/")
        if content.candidates(ref) or not ref.endswith(CONTENT_SUFFIX):
            return content.lesson(ref)
        base = ref[: -len(CONTENT_SUFFIX)]
        content.entry(base)  # 404 before touching the store
        return await anyio.to_thread.run_sync(content.lesson_content, base)
