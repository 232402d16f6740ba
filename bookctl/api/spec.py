"""The OpenAPI document and the app's behaviour agree (issue 11 item 15; `tests/api/test_schemathesis.py` runs
schemathesis with every check against a live server and asserts no finding).

`finish_document` corrects what Litestar's generator gets wrong about our handlers, once at start-up:
- `data: X | None = None` means no body is a valid request (POST /api/user/create); Litestar says "required";
- a struct with `forbid_unknown_fields` answers 400 to an unknown field; Litestar omits
  `additionalProperties: false`, so the document allowed what the app refuses.

`DocumentedAllowMiddleware`: OPTIONS answers whose `Allow` header is what the document says the path supports.

Litestar builds a route's OPTIONS handler when the route's first handler is registered, and keeps it when more
methods join the same path, so `OPTIONS /api/user/preferences` said `GET, OPTIONS` (not PUT); and every request
under /api/progress/lessons/ reaches the `{ref:path}` route, so `OPTIONS …/time` said `OPTIONS, POST` (not
PUT). The spec and the behaviour must agree (issue 11 item 15), so a plain OPTIONS request to a documented path
is answered here, from the app's own OpenAPI document. CORS preflights (Origin + Access-Control-Request-Method)
are left to Litestar's CORS middleware, and paths the document does not describe to Litestar.
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Litestar

_METHODS = ("get", "put", "post", "delete", "patch", "head")
_PARAM = re.compile(r"\\\{[^/]+?\\\}")  # an escaped `{name}` in re.escape(template)


def documented_methods(openapi: Any) -> list[tuple[re.Pattern[str], re.Pattern[str], bool, frozenset[str]]]:
    """(one-segment pattern, any-segments pattern, templated?, methods) for every documented path."""
    out = []
    for template, item in (openapi.paths or {}).items():
        methods = frozenset(m.upper() for m in _METHODS if getattr(item, m, None) is not None)
        escaped = re.escape(template.rstrip("/") or "/")
        out.append((re.compile(_PARAM.sub("[^/]+", escaped) + "/?"), re.compile(_PARAM.sub(".+", escaped) + "/?"),
                    bool(_PARAM.search(escaped)), methods))
    return out


def allowed(templates: list, path: str) -> frozenset[str] | None:
    """The documented methods of `path` (None: not a documented path). As OpenAPI matches paths, a concrete
    path wins over a templated one (`/api/user/create` is not `/api/user/{user_id}`); a parameter is one
    segment if any template matches that way, else it may span segments (lesson refs like `chapter/lesson`)."""
    passes = (lambda t: not t[2] and t[0].fullmatch(path), lambda t: t[0].fullmatch(path),
              lambda t: t[1].fullmatch(path))
    for matches in passes:
        found = [t[3] for t in templates if matches(t)]
        if found:
            return frozenset().union(*found)
    return None


class DocumentedAllowMiddleware:
    """ASGI middleware: answer a non-preflight OPTIONS on a documented path with 204 and the spec's methods."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._templates: list | None = None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "OPTIONS" or _is_preflight(scope):
            await self.app(scope, receive, send)
            return
        if self._templates is None:
            self._templates = documented_methods(Litestar.from_scope(scope).openapi_schema)
        methods = allowed(self._templates, scope["path"])
        if methods is None:
            await self.app(scope, receive, send)
            return
        allow = ", ".join(sorted({*methods, "OPTIONS"})).encode()
        await send({"type": "http.response.start", "status": 204, "headers": [(b"allow", allow)]})
        await send({"type": "http.response.body", "body": b""})


def _is_preflight(scope: dict) -> bool:
    names = {name.lower() for name, _ in scope.get("headers", ())}
    return b"origin" in names and b"access-control-request-method" in names


def finish_document(openapi: Any) -> None:
    """Make `openapi` (the app's generated document) say what the handlers do; see the module docstring."""
    import msgspec

    strict = {cls.__name__ for cls in _subclasses(msgspec.Struct)
              if cls.__module__.startswith("bookctl.") and cls.__struct_config__.forbid_unknown_fields}
    for name, schema in ((openapi.components.schemas or {}).items() if openapi.components else ()):
        if name in strict and getattr(schema, "properties", None) is not None:
            schema.additional_properties = False
    for item in (openapi.paths or {}).values():
        for method in _METHODS:
            operation = getattr(item, method, None)
            if operation is not None and _body_may_be_null(operation):
                operation.request_body.required = False


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def _body_may_be_null(operation: Any) -> bool:
    from litestar.openapi.spec.enums import OpenAPIType

    body = getattr(operation, "request_body", None)
    media = (body.content or {}).get("application/json") if body is not None else None
    schema = getattr(media, "schema", None)
    return any(getattr(s, "type", None) == OpenAPIType.NULL for s in (getattr(schema, "one_of", None) or ()))
