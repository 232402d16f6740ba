"""The Litestar app factory: `create_app(runtime, *, embedder=None, generator=None, ...)`.

Nothing is built at import time; `bookctl serve` (or a test, or a benchmark) opens a `Runtime` at the edge and
passes it in. One controller per resource, listed in `controllers()`.

Adding a controller (search, personalization, ...)
--------------------------------------------------
1. Write it in its own module, e.g. `bookctl/api/search.py`: a `litestar.Controller` with `path = "/api/search"`.
2. Add it to the plain list in `controllers()` below.
3. Handlers may name any of these app-wide dependencies as parameters:

   - `runtime: Runtime`           settings, engine, `runtime.session()` (unit of work: commits on success), store
   - `current_user_id: uuid.UUID` the authenticated learner (bearer token; `X-User-ID` must match it, or is
                                  trusted alone when BOOKCTL_AUTH=header). 401/403 are raised for you. Naming it
                                  is what makes an endpoint user-scoped.
   - `content: ContentService`    the cached book tree, lesson lookup by slug or route, lesson markdown
   - `embedder`, `generator`      whatever was passed to `create_app` (None when not configured)
   - `personalization`            the app's one PersonalizationService
   - `signer: TokenSigner`        issues/verifies tokens (users controller only, normally)

   Mark them with the aliases in `bookctl.api.deps` (Litestar 2.23+ deprecates inferred dependencies):
   `runtime: RuntimeDep, current_user_id: CurrentUserId, content: Content, generator: Injected`.
   Database work is synchronous: declare handlers `sync_to_thread=True` and use
   `with runtime.session() as session: return service.do(session, ...)`.
4. Raise `bookctl.errors` exceptions (NotFoundError, ValidationError, UpstreamError, ...). The app-wide
   handler in `bookctl.api.errors` maps every one to `{"error", "message", "detail"}` with its status;
   nothing else is needed. Document them with `responses=error_responses(400, 401, 404)`.
5. Use msgspec Structs named `XCreate`/`XUpdate`/`X` and `data: JSONBody[XCreate]` (litestar.params).

Request bodies above `settings.max_body_bytes` (64 KiB by default) are refused with 413.
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from bookctl.api.auth import TokenSigner, load_secret_key, make_current_user_provider, warn_if_header_mode
from bookctl.api.errors import EXCEPTION_HANDLERS
from bookctl.content.service import ContentService
from bookctl.runtime import Runtime

log = logging.getLogger("bookctl.api")


def controllers() -> list[type]:
    """Every controller of the app (a plain list: add yours here)."""
    from bookctl.api.content import ContentController
    from bookctl.api.health import HealthController
    from bookctl.api.onboarding import OnboardingController, PreferencesController
    from bookctl.api.progress import ProgressController
    from bookctl.api.users import UserController

    from bookctl.api.personalize import PersonalizeController
    from bookctl.api.search import SearchController

    return [HealthController, UserController, OnboardingController, PreferencesController, ContentController,
            ProgressController, PersonalizeController, SearchController]


def create_app(
    runtime: Runtime,
    *,
    embedder: Any = None,
    generator: Any = None,
    personalization: Any = None,
    content: ContentService | None = None,
    extra_controllers: Sequence[type] = (),
    debug: bool = False,
    review: Any = None,
    learner_api: bool = True,
) -> Litestar:
    """Build the API over an open Runtime. `embedder`/`generator` are injected for search/personalization.

    `personalization` (a PersonalizationService) may be passed to share it with the caller (tests do); by
    default one is built here over `generator`, or over an OpenAI client made from the settings. Either way it
    is one instance per app: its per-key locks are what make the single flight.

    `review` (a `bookctl.api.review.ReviewAccess`) adds the editors' review page under /review (templates, an
    encrypted cookie session and CSRF protection scoped to /review); `learner_api=False` leaves out the learner
    endpoints (`bookctl review` serves only the page and the probes).
    """
    settings = runtime.settings
    signer = TokenSigner(load_secret_key(settings), settings.token_ttl)
    warn_if_header_mode(settings.auth)
    content = content or ContentService(runtime)
    if personalization is None:
        personalization = _personalization(runtime, generator)
    if embedder is None:
        embedder = _embedder(runtime)

    def _const(value: Any) -> Provide:
        def provider() -> Any:
            return value
        provider.__annotations__["return"] = Any
        return Provide(provider, use_cache=True, sync_to_thread=False)

    dependencies = {
        "runtime": _const(runtime),
        "signer": _const(signer),
        "content": _const(content),
        "embedder": _const(embedder),
        "generator": _const(generator),
        "personalization": _const(personalization),
        "current_user_id": Provide(make_current_user_provider(signer, settings.auth)),
    }
    handlers: list[Any] = [*(controllers() if learner_api else _probes()), *extra_controllers]
    extras: dict[str, Any] = {}
    if learner_api:  # the book for AI assistants at /mcp, over the same services (bookctl/mcp)
        mcp_endpoint, mcp_lifespan = _mcp(runtime, content, embedder, personalization, signer)
        handlers.append(mcp_endpoint)
        extras["lifespan"] = [mcp_lifespan]
    if review is not None:
        from bookctl.api.review import review_app_parts

        parts = review_app_parts(settings, review)
        dependencies["review_access"] = _const(parts.pop("review_access"))
        handlers.extend(parts.pop("route_handlers"))
        extras.update(parts)
    openapi = OpenAPIConfig(
        title="bookctl learner API", version="1.0.0", path="/schema",
        description="Onboarding, preferences, content, progress and recommendations for the personalized textbook. "
                    "Errors are always {error, message, detail}.",
        components=Components(security_schemes={
            "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="bookctl-hmac",
                                          description="The token returned by POST /api/user/create"),
        }),
        security=[{"BearerToken": []}],
        render_plugins=[SwaggerRenderPlugin()],
    )
    cors = CORSConfig(allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST", "PUT", "DELETE"],
                      allow_headers=["Authorization", "Content-Type", "X-User-ID"], allow_credentials=False)
    return Litestar(
        route_handlers=handlers,
        dependencies=dependencies,
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=openapi,
        cors_config=cors if settings.cors_origins else None,
        request_max_body_size=settings.max_body_bytes,
        debug=debug,
        **extras,
    )


def _probes() -> list[type]:
    from bookctl.api.health import HealthController

    return [HealthController]


def _personalization(runtime: Runtime, generator: Any) -> Any:
    from bookctl.llm.generate import OpenAIGenerator
    from bookctl.personalization.service import PersonalizationService

    # OpenAIGenerator builds its HTTP client on first use, so an unconfigured server still starts; a cache
    # miss then answers 503 naming OPENAI_API_KEY.
    return PersonalizationService.from_runtime(runtime, generator or OpenAIGenerator.from_settings(runtime.settings))


def _mcp(runtime: Runtime, content: ContentService, embedder: Any, personalization: Any, signer: TokenSigner):
    """The MCP server at /mcp (streamable HTTP) over this app's own services and bearer verification."""
    from bookctl.mcp.identity import Identity
    from bookctl.mcp.mount import mcp_mount
    from bookctl.mcp.server import McpDeps

    return mcp_mount(McpDeps(runtime, content, embedder, personalization, Identity(signer.verify)))


def _embedder(runtime: Runtime) -> Any:
    from bookctl.errors import ConfigError
    from bookctl.llm.embedders import make_embedder

    try:
        return make_embedder(runtime.settings)  # the local model loads on first use, not here
    except ConfigError as exc:
        log.warning("search is lexical only: %s", exc.message)  # the search response says so too
        return None


def from_environment() -> Litestar:
    """The app for one worker process of `bookctl serve --workers N` (uvicorn imports it by name).

    Each worker is an edge of its own: it reads the settings once and opens its own Runtime, closed at shutdown.
    """
    from bookctl.config import load_settings

    runtime = Runtime.open(load_settings())
    app = create_app(runtime)
    app.on_shutdown.append(runtime.close)
    return app
