"""POST /api/search {query, limit, filters}: the same hybrid search `bookctl search` runs."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, post
from litestar.params import JSONBody

from bookctl.api.deps import Injected, RuntimeDep
from bookctl.api.errors import error_responses
from bookctl.search.query import MAX_LIMIT, MAX_NUMBER, MAX_QUERY_CHARS, SearchResponse


# Part and chapter numbers are 32-bit columns: a bound here makes 2**63 a 400, not an OverflowError.
Number = Annotated[int, msgspec.Meta(ge=0, le=MAX_NUMBER)]


class SearchFilters(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    part: Number | None = None
    chapter: Number | None = None
    layer: str | None = None
    type: str | None = None


class SearchQuery(msgspec.Struct, forbid_unknown_fields=True):
    query: str = msgspec.field()
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
