"""POST /api/search {query, limit, filters}: the same hybrid search `bookctl search` runs."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar import Controller, post
from litestar.params import JSONBody

from bookctl.api.deps import Injected, RuntimeDep
from bookctl.api.errors import error_responses
from bookctl.curriculum.model import LESSON_TYPES
from bookctl.search.query import MAX_LIMIT, MAX_NUMBER, MAX_QUERY_CHARS, SearchResponse


# Part and chapter numbers are 32-bit columns: a bound here makes 2**63 a 400, not an OverflowError.
# Litestar drops a falsy bound (`ge=0`) from the OpenAPI document, so the minimum is stated again through
# msgspec's extra_json_schema (its "extra" reaches the schema unconditionally).
Number = Annotated[int, msgspec.Meta(ge=0, le=MAX_NUMBER, extra_json_schema={"extra": {"minimum": 0}})]

# What `validate` accepts is said in the schema too, so the OpenAPI document and the answers agree (schemathesis
# checks both ways): a query has a word character ("" and "!!!" are 400s) and at most MAX_QUERY_CHARS
# characters; a layer looks like L1; a type is one of the lesson types.
Layer = Annotated[str, msgspec.Meta(pattern=r"^L[0-9]{1,2}$")]
LessonType = Literal[LESSON_TYPES]  # type: ignore[valid-type]  # ("lesson", "lab", "summary", "index")
Query = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_QUERY_CHARS, pattern=r"\w")]


class SearchFilters(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    part: Number | None = None
    chapter: Number | None = None
    layer: Layer | None = None
    type: LessonType | None = None



class SearchQuery(msgspec.Struct, forbid_unknown_fields=True):
    query: Query = msgspec.field()
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_LIMIT)] = 10
    filters: SearchFilters | None = None


class SearchController(Controller):
    path = "/api/search"
    tags = ["Search"]
    security = []

    @post("/", status_code=200, sync_to_thread=True, operation_id="searchBook", responses=error_responses(400, 502, 503),
          summary=f"Hybrid lexical + semantic search over the book (query ≤ {MAX_QUERY_CHARS} chars, limit ≤ {MAX_LIMIT})")
    def search(self, data: JSONBody[SearchQuery], runtime: RuntimeDep, embedder: Injected) -> SearchResponse:
        from bookctl.search.query import search, validate

        filters = msgspec.to_builtins(data.filters) if data.filters is not None else None
        request = validate(data.query, data.limit, filters)
        with runtime.session() as session:
            return search(session, request, embedder)
