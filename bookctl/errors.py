"""One exception hierarchy for the whole tool.

Each error carries the CLI exit code and the HTTP status it maps to, so the two edges
(`bookctl.cli` and `bookctl.api`) translate it once, in one place each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class BookctlError(Exception):
    """Base of every error bookctl raises on purpose."""

    exit_code = 1
    status_code = 500
    kind = "internal_error"

    def __init__(self, message: str, *, detail: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail or {}


class ConfigError(BookctlError):
    """A missing or bad setting, or a command used the wrong way."""

    exit_code = 2
    status_code = 500
    kind = "config_error"


class NotConfiguredError(ConfigError):
    """An optional service (the LLM, OpenAI embeddings) is needed but not configured: 503 to an API client."""

    status_code = 503
    kind = "not_configured"


class UsageError(ConfigError):
    kind = "usage_error"
    status_code = 400


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong (or worth a warning) in the book, located at file:line."""

    path: str
    line: int
    message: str
    severity: str = field(default="error", compare=False)

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.severity}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "severity": self.severity, "message": self.message}


class ContentError(BookctlError):
    """The book has problems; `problems` lists every one of them, not just the first."""

    exit_code = 1
    status_code = 422
    kind = "content_error"

    def __init__(self, problems: list[Problem]) -> None:
        errors = [p for p in problems if p.severity == "error"]
        first = str(errors[0]) if errors else "the book has problems"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(first + more, detail={"problems": [p.as_dict() for p in problems]})
        self.problems = problems


class ValidationError(BookctlError):
    """A request carried invalid input."""

    exit_code = 2
    status_code = 400
    kind = "validation_error"


class NotFoundError(BookctlError):
    exit_code = 1
    status_code = 404
    kind = "not_found"


class LessonMovedError(NotFoundError):
    """A lesson was asked for by a route it no longer has (it moved): `detail` names its current route.

    The API answers a read (GET whose path or `route` query names the old route) with 301 and a
    Location at the same resource under the new route; anything else gets this 404 with the new route
    in `detail`, so the client can retry there.
    """

    kind = "lesson_moved"

    def __init__(self, old_ref: str, route: str, slug: str) -> None:
        super().__init__(f"lesson moved: {old_ref!r} is now {route!r}",
                         detail={"old_route": old_ref, "route": route, "slug": slug})
        self.old_ref, self.route = old_ref, route


class ConflictError(BookctlError):
    exit_code = 1
    status_code = 409
    kind = "conflict"


class MassDeleteError(ConflictError):
    """A sync would remove most of the book's written lessons (a missing docs/ folder, a wrong --book)."""

    kind = "mass_delete_refused"


class AuthenticationError(BookctlError):
    exit_code = 2
    status_code = 401
    kind = "unauthorized"


class PermissionDeniedError(BookctlError):
    exit_code = 2
    status_code = 403
    kind = "forbidden"


class RateLimitedError(BookctlError):
    exit_code = 1
    status_code = 429
    kind = "rate_limited"


class BusyError(BookctlError):
    """Another run holds the lock (for example two syncs of the same database)."""

    exit_code = 1
    status_code = 409
    kind = "busy"


class StorageError(BookctlError):
    """The object store failed or could not be reached."""

    exit_code = 1
    status_code = 503
    kind = "storage_unavailable"


class UpstreamError(BookctlError):
    """An external service (embeddings, LLM) failed after retries."""

    exit_code = 1
    status_code = 502
    kind = "upstream_error"


class UpstreamTimeoutError(UpstreamError):
    status_code = 503
    kind = "upstream_timeout"


class IdentityProviderUnavailableError(BookctlError):
    """The identity provider's JWKS cannot be fetched and no cached key can verify the token (503)."""

    exit_code = 1
    status_code = 503
    kind = "identity_provider_unavailable"
