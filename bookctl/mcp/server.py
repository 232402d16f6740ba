"""The MCP server: the book's tools, resources and prompts over the services the API uses.

`build_server(deps)` registers everything on a fresh `MCPServer`; nothing is built at import time. Each tool is
a thin edge, like an API handler: it resolves the lesson through the `ContentService`, opens a unit of work
(`runtime.session()`, which commits) and calls the same function the matching endpoint calls:

    search_book          bookctl.search.query.validate + search     POST /api/search
    get_outline          ContentService.snapshot().book             GET  /api/content/book
    get_lesson           ContentService.lesson_content              GET  /api/content/lessons/{ref}/content
    my_progress          learners.progress.summary                  GET  /api/progress
    recommend_next       learners.recommendations.recommend         GET  /api/progress/recommendations
    mark_lesson          learners.progress.start / complete         POST /api/progress/lessons/{ref}/{action}
    personalized_lesson  PersonalizationService.apersonalize        POST /api/personalize

Errors: every `BookctlError` becomes a `ToolError` whose text starts with its stable kind
(`not_found: no lesson with slug or route 'x'`, `unauthorized: ...`, `rate_limited: ...`), so a client and a
model can both tell what went wrong. Anything else is the SDK's generic tool error (and a logged traceback).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, ToolAnnotations
from pydantic import Field

from bookctl.content.service import ContentService, LessonEntry
from bookctl.errors import BookctlError, NotFoundError
from bookctl.learners import progress, recommendations
from bookctl.mcp import render
from bookctl.mcp import schemas as out
from bookctl.mcp.identity import Identity
from bookctl.runtime import Runtime
from bookctl.search.query import MAX_LIMIT, MAX_QUERY_CHARS, search, validate

SERVER_NAME = "bookctl"
INSTRUCTIONS = (
    "The textbook as tools. Use search_book to find the lessons that answer a question (best first), get_lesson "
    "to read one (by slug, route or site pathname) and get_outline for the table of contents. With the "
    "learner's bearer token: my_progress, recommend_next, mark_lesson and personalized_lesson (the lesson "
    "adapted to the learner's profile)."
)

LessonRef = Annotated[str, Field(min_length=1, max_length=500,
                                 description="A lesson slug (chapter/lesson), its route (/docs/...) or a site "
                                             "pathname or URL of the lesson page")]
LessonType = Literal["lesson", "lab", "summary", "index"]
READ_ONLY = ToolAnnotations(readOnlyHint=True, openWorldHint=False)
#: The tools that act for a learner (a verified bearer token, or BOOKCTL_MCP_USER_TOKEN over stdio)
LEARNER_TOOLS = frozenset({"my_progress", "recommend_next", "mark_lesson", "personalized_lesson"})


@dataclass(frozen=True)
class McpDeps:
    """What the server answers from: the API's own runtime and services (the API passes its instances)."""

    runtime: Runtime
    content: ContentService
    embedder: Any  # None: search is lexical only, as in the API
    personalization: Any  # a PersonalizationService
    identity: Identity


def build_server(deps: McpDeps) -> MCPServer:
    import logging

    # MCPServer runs logging.basicConfig(level=...): pass the level already in force, so building the server
    # inside the API app (or a test) leaves the process's logging as the edge configured it.
    level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
    server = MCPServer(SERVER_NAME, title="bookctl: the textbook", instructions=INSTRUCTIONS, version=_version(),
                       log_level=level if level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL") else "WARNING")
    _tools(server, deps)
    _resources(server, deps)
    _prompts(server, deps)
    return server


# ------------------------------------------------------------------ errors and lessons

@contextmanager
def tool_errors() -> Iterator[None]:
    """bookctl's errors as tool errors that say what went wrong (the kind first, then the message)."""
    try:
        yield
    except BookctlError as exc:
        raise ToolError(f"{exc.kind}: {exc.message}") from exc


def lesson_ref(ref: str) -> str:
    """A pasted page URL (`https://site/docs/...#part`) becomes its pathname; anything else is used as given."""
    ref = ref.strip()
    if ref.startswith(("http://", "https://")):
        return urlsplit(ref).path or "/"
    return ref.split("#", 1)[0].split("?", 1)[0]


def _entry(deps: McpDeps, ref: str) -> LessonEntry:
    return deps.content.entry(lesson_ref(ref))


# ------------------------------------------------------------------ tools

def _tools(server: MCPServer, deps: McpDeps) -> None:
    def learner(ctx: Context) -> uuid.UUID:
        return deps.identity.user_id(ctx.headers)

    @server.tool(title="Search the book", annotations=READ_ONLY, structured_output=True)
    def search_book(
        query: Annotated[str, Field(min_length=1, max_length=MAX_QUERY_CHARS,
                                    description="A question or keywords, as a learner would type them")],
        limit: Annotated[int, Field(ge=1, le=MAX_LIMIT, description="How many lessons to return")] = 5,
        part: Annotated[int | None, Field(ge=0, description="Only this part number")] = None,
        chapter: Annotated[int | None, Field(ge=0, description="Only this chapter number (global)")] = None,
        layer: Annotated[str | None, Field(pattern=r"^L\d{1,2}$", description="Only this layer (L1, L2...)")] = None,
        type: Annotated[LessonType | None, Field(description="Only this kind of page")] = None,  # noqa: A002
    ) -> out.SearchResults:
        """Hybrid (keyword + semantic) search over the written lessons: the best passage of each matching lesson,
        best first, with its slug, route, title, heading path and score. Exactly what POST /api/search returns."""
        with tool_errors():
            filters = {"part": part, "chapter": chapter, "layer": layer, "type": type}
            request = validate(query, limit, {k: v for k, v in filters.items() if v is not None})
            with deps.runtime.session() as session:
                return out.to_output(out.SearchResults, search(session, request, deps.embedder))

    @server.tool(title="Table of contents", annotations=READ_ONLY, structured_output=True)
    def get_outline() -> out.Outline:
        """The book's parts, chapters and lessons with their slugs, routes, status (written or planned), layer and
        estimated minutes, in reading order."""
        with tool_errors():
            return out.to_output(out.Outline, deps.content.snapshot().book)

    @server.tool(title="Read a lesson", annotations=READ_ONLY, structured_output=True)
    def get_lesson(ref: LessonRef) -> out.LessonText:
        """A lesson's markdown with its title, slug and route. `ref` is its slug, its route or the pathname (or
        URL) of its page on the site. A planned lesson has no text yet (a tool error says so)."""
        with tool_errors():
            return out.to_output(out.LessonText, deps.content.lesson_content(_entry(deps, ref).lesson.slug))

    @server.tool(title="My progress", annotations=READ_ONLY, structured_output=True)
    def my_progress(ctx: Context) -> out.ProgressSummary:
        """The learner's progress: overall, per part and per chapter (written lessons only). Needs the learner's
        bearer token."""
        with tool_errors():
            user_id = learner(ctx)
            snap = deps.content.snapshot()
            with deps.runtime.session() as session:
                return out.to_output(out.ProgressSummary, progress.summary(session, user_id, snap))

    @server.tool(title="What to study next", annotations=READ_ONLY, structured_output=True)
    def recommend_next(
        ctx: Context,
        limit: Annotated[int, Field(ge=1, le=50, description="How many lessons to suggest")] = 5,
    ) -> out.Recommendations:
        """Lessons the learner should study next, each with a reason and a reason code (unfinished work, the next
        lesson, prerequisites, goals). Needs the learner's bearer token."""
        with tool_errors():
            user_id = learner(ctx)
            snap = deps.content.snapshot()
            with deps.runtime.session() as session:
                return out.to_output(out.Recommendations, recommendations.recommend(session, user_id, snap, limit))

    @server.tool(title="Mark a lesson started or complete", structured_output=True,
                 annotations=ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=True,
                                             openWorldHint=False))
    def mark_lesson(
        ctx: Context,
        ref: LessonRef,
        action: Annotated[Literal["start", "complete"],
                          Field(description="start (idempotent) or complete (starts it if needed)")],
    ) -> out.LessonProgress:
        """Record that the learner started or completed a lesson; returns the lesson's progress. Needs the
        learner's bearer token."""
        with tool_errors():
            user_id = learner(ctx)
            entry = _entry(deps, ref)
            with deps.runtime.session() as session:
                record = progress.start if action == "start" else progress.complete
                return out.to_output(out.LessonProgress, record(session, user_id, entry))

    @server.tool(title="The lesson, personalized", structured_output=True,
                 annotations=ToolAnnotations(readOnlyHint=True, openWorldHint=True))
    async def personalized_lesson(ctx: Context, ref: LessonRef) -> out.PersonalizedLesson:
        """The lesson adapted to the learner's profile (from onboarding): the shared variant for that profile,
        generated on a miss. A miss counts against the learner's limit (BOOKCTL_PERSONALIZE_MISS_LIMIT per window);
        a cached variant is free. Needs the learner's bearer token."""
        import anyio

        with tool_errors():
            user_id = learner(ctx)
            entry = await anyio.to_thread.run_sync(_entry, deps, ref)  # may refresh the snapshot (DB I/O)
            variant = await deps.personalization.apersonalize(user_id, entry.lesson.slug)
            return out.PersonalizedLesson(slug=entry.lesson.slug, route=entry.lesson.route, title=entry.lesson.title,
                                          personalized_content=variant.personalized_content, cached=variant.cached,
                                          generated_at=variant.generated_at, personalized=variant.personalized,
                                          reason=variant.reason)


# ------------------------------------------------------------------ resources

def _resources(server: MCPServer, deps: McpDeps) -> None:
    @server.resource("book://outline", name="outline", title="Table of contents", mime_type="text/markdown")
    def outline() -> str:
        """The book's parts, chapters and lessons (slug, status, layer, minutes) as markdown."""
        with resource_errors("book://outline"):
            return render.outline(deps.content.snapshot().book)

    # `{+slug}`: slugs contain a slash (chapter/lesson), which a plain `{slug}` would not match.
    @server.resource("book://lessons/{+slug}", name="lesson", title="A lesson", mime_type="text/markdown")
    def lesson(slug: str) -> str:
        """A lesson's markdown, e.g. book://lessons/what-is-physical-ai/lesson-embodiment-hypothesis."""
        with resource_errors(f"book://lessons/{slug}"):
            text = deps.content.lesson_content(deps.content.entry(slug).lesson.slug)
            return render.lesson(text)


@contextmanager
def resource_errors(uri: str) -> Iterator[None]:
    try:
        yield
    except NotFoundError as exc:
        raise ResourceNotFoundError(f"{exc.kind}: {exc.message}") from exc
    except BookctlError as exc:
        raise ResourceError(f"{exc.kind}: {exc.message} ({uri})") from exc


# ------------------------------------------------------------------ prompts

def _prompts(server: MCPServer, deps: McpDeps) -> None:
    @server.prompt(name="explain_lesson", title="Explain this lesson at my level")
    def explain_lesson(
        ctx: Context,
        ref: Annotated[str, Field(description="The lesson's slug, route or page pathname")],
        level: Annotated[str, Field(description="Your level if you have no learner token: beginner, "
                                                "intermediate or advanced")] = "",
    ) -> str:
        """Ask the assistant to explain one lesson of the book at the learner's level (their onboarding profile
        when a token is present), from the lesson's own text."""
        with prompt_errors():
            entry = _entry(deps, ref)
            text = deps.content.lesson_content(entry.lesson.slug)
            profile = _profile(deps, ctx)
            return render.explain_prompt(text, profile, level.strip() or None)

    @server.prompt(name="quiz_chapter", title="Quiz me on a chapter")
    def quiz_chapter(
        chapter: Annotated[str, Field(description="The chapter number (as in the outline)")],
        questions: Annotated[str, Field(description="How many questions (1-20)")] = "5",
    ) -> str:
        """Ask the assistant to quiz the learner on one chapter, from the text of its written lessons."""
        with prompt_errors():
            number, count = _whole(chapter, "chapter", 1, 10_000), _whole(questions, "questions", 1, 20)
            node = deps.content.chapter(number)
            snap = deps.content.snapshot()
            bodies = [deps.content.lesson_content(s.slug) for s in node.lessons
                      if s.status == "written" and snap.by_slug[s.slug].bucket_path]
            if not bodies:
                raise NotFoundError(f"chapter {number} has no written lessons yet", detail={"chapter": number})
            return render.quiz_prompt(node, bodies, count)


@contextmanager
def prompt_errors() -> Iterator[None]:
    try:
        yield
    except BookctlError as exc:
        raise MCPError(code=INVALID_PARAMS, message=f"{exc.kind}: {exc.message}") from exc


def _whole(text: str, name: str, low: int, high: int) -> int:
    from bookctl.errors import ValidationError

    try:
        value = int(str(text).strip())
    except ValueError:
        raise ValidationError(f"{name} must be a whole number; got {text!r}") from None
    if not low <= value <= high:
        raise ValidationError(f"{name} must be from {low} to {high}; got {value}")
    return value


def _profile(deps: McpDeps, ctx: Context) -> dict[str, Any] | None:
    """The caller's onboarding answers, when a learner is identified (prompts work anonymously too)."""
    from bookctl.errors import AuthenticationError
    from bookctl.learners.preferences import get_preferences

    try:
        user_id = deps.identity.user_id(ctx.headers)
    except AuthenticationError:
        return None
    with deps.runtime.session() as session:
        try:
            prefs = get_preferences(session, user_id)
        except NotFoundError:
            return None
    import msgspec

    return msgspec.to_builtins(prefs)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bookctl")
    except PackageNotFoundError:  # a source checkout that was never installed
        return "0"
