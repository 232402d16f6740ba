"""The one place where errors become HTTP responses: ``{"error", "message", "detail"}`` with the right status.

- bookctl's own hierarchy (bookctl.errors.BookctlError): its `status_code` and `kind`.
- Litestar's validation errors (bad JSON, wrong types, bad UUIDs, out-of-range numbers, unknown enum values):
  400 `validation_error`, naming each field and, for enums, the allowed values.
- Other Litestar HTTP errors (404 no route, 405, 413 body too large, ...): their status, a stable `error` kind.
- Anything else: 500 `internal_error`, logged with its traceback, never leaking internals to the client.

It is installed app-wide by `create_app`, so controllers added later get it automatically.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec

from bookctl.errors import BookctlError, LessonMovedError
from bookctl.learners.schemas import ALLOWED_VALUES

log = logging.getLogger("bookctl.api")


class ErrorResponse(msgspec.Struct):
    error: str
    message: str
    detail: dict[str, Any]


_KINDS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
          409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type", 422: "validation_error",
          429: "rate_limited", 503: "unavailable"}


def error_response(status: int, kind: str, message: str, detail: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> Response[ErrorResponse]:
    return Response(ErrorResponse(kind, message, detail or {}), status_code=status, media_type=MediaType.JSON,
                    headers=headers)


def _field_of(key: str | None) -> str | None:
    if not key:
        return None
    match = re.match(r"\$?\.?([A-Za-z_][A-Za-z0-9_]*)", key)
    return match.group(1) if match else key


def _validation(exc: ValidationException) -> Response[ErrorResponse]:
    errors: list[dict[str, Any]] = []
    extra = exc.extra if isinstance(exc.extra, list) else ([exc.extra] if isinstance(exc.extra, dict) else [])
    for item in extra:
        if not isinstance(item, dict):
            continue
        field = _field_of(item.get("key"))
        entry: dict[str, Any] = {"field": field, "source": item.get("source"), "message": str(item.get("message"))}
        if field in ALLOWED_VALUES:
            entry["allowed"] = list(ALLOWED_VALUES[field])
        errors.append(entry)
    if errors:
        parts = []
        for e in errors:
            text = f"{e['field']}: {e['message']}" if e["field"] else e["message"]
            if "allowed" in e:
                text += f" (allowed: {', '.join(e['allowed'])})"
            parts.append(text)
        message = "invalid input: " + "; ".join(parts)
    else:
        message = f"invalid input: {exc.detail}"
    return error_response(400, "validation_error", message, {"errors": errors})


def handle_exception(request: Request, exc: Exception) -> Response[ErrorResponse]:
    if isinstance(exc, LessonMovedError) and (moved := _moved(request, exc)) is not None:
        return moved
    if isinstance(exc, BookctlError):
        if exc.status_code >= 500:
            log.error("%s %s: %s: %s", request.method, request.url.path, exc.kind, exc.message)
        retry_after = exc.detail.get("retry_after")
        headers = {"Retry-After": str(int(retry_after))} if isinstance(retry_after, (int, float)) else None
        return error_response(exc.status_code, exc.kind, exc.message, exc.detail, headers=headers)
    if isinstance(exc, ValidationException):
        return _validation(exc)
    if isinstance(exc, HTTPException):
        status = exc.status_code
        if status >= 500:
            log.error("%s %s: %s", request.method, request.url.path, exc.detail)
        message = exc.detail or "error"
        if status == 413:
            message = "request body too large"
        return error_response(status, _KINDS.get(status, "error" if status < 500 else "internal_error"), message,
                              {}, headers=exc.headers)
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "internal server error", {})


def _moved(request: Request, exc: LessonMovedError) -> Response[ErrorResponse] | None:
    """301 to the same read under the lesson's new route, when the old route is in the URL of a GET."""
    if request.method not in ("GET", "HEAD"):
        return None
    from urllib.parse import quote, urlencode

    old, new = exc.old_ref.strip().strip("/"), exc.route.strip("/")
    path, query = request.url.path, list(request.query_params.multi_items())
    if old and old in path:
        location = path.replace(old, quote(new), 1)
    elif any(key == "route" and value.strip().strip("/") == old for key, value in query):
        location = path
        query = [(k, exc.route if k == "route" and v.strip().strip("/") == old else v) for k, v in query]
    else:
        return None
    if query:
        location += "?" + urlencode(query)
    return error_response(301, exc.kind, exc.message, {**exc.detail, "location": location},
                          headers={"Location": location})


EXCEPTION_HANDLERS = {Exception: handle_exception}

_DESCRIPTIONS = {
    301: "The lesson moved: Location is the same resource at its current route (detail.route)",
    400: "Invalid input (names the field and the allowed values)",
    401: "Missing, invalid or expired bearer token",
    403: "Not your data (or X-User-ID does not match the token)",
    404: "Not found",
    409: "Conflict",
    413: "Request body too large",
    429: "Rate limited: retry after the number of seconds in the Retry-After header",
    502: "An upstream service (the LLM, embeddings) failed after retries",
    503: "A backing service (LLM, object store, identity provider's JWKS) is unavailable; "
         "Retry-After says when to try again when known",
}

#: statuses whose responses may carry Retry-After (documented on every operation that lists them)
RETRY_AFTER_STATUSES = ("429", "503")


def error_responses(*codes: int) -> dict[int, ResponseSpec]:
    """OpenAPI documentation of the error responses a handler may give (all in the ErrorResponse shape)."""
    return {code: ResponseSpec(data_container=ErrorResponse, description=_DESCRIPTIONS.get(code, "Error"))
            for code in codes}


def document_error_headers(openapi) -> None:
    """Add the `Retry-After` header to every documented 429/503 response (Litestar's ResponseSpec cannot
    declare response headers). Runs once at start-up, before the schema is first served."""
    from litestar.openapi.spec import OpenAPIHeader, Schema
    from litestar.openapi.spec.enums import OpenAPIType

    header = OpenAPIHeader(schema=Schema(type=OpenAPIType.INTEGER, minimum=0),
                           description="Seconds to wait before retrying")
    for path_item in (openapi.paths or {}).values():
        for method in ("get", "put", "post", "delete", "patch"):
            operation = getattr(path_item, method, None)
            if operation is not None and operation.security is None:
                operation.security = []  # public: say so explicitly (there is no global requirement either)
            for status, response in ((operation.responses or {}).items() if operation else ()):
                if status in RETRY_AFTER_STATUSES and hasattr(response, "headers"):
                    response.headers = {**(response.headers or {}), "Retry-After": header}

