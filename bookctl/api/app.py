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
   - `caller: Caller`             the request's identity claims; `caller.require(("user_id", id))` when a path or
                                  body also names a user (bookctl.api.auth)
   - `identity: Identity`         token/JWT verification and issuing (bookctl.identity; users controller only)

   User-scoped controllers declare `security = BEARER` (bookctl.api.deps) so the OpenAPI says so; public
   operations say nothing (the app has no global security requirement).
   Mark them with the aliases in `bookctl.api.deps` (Litestar 2.23+ deprecates inferred dependencies):
   `runtime: RuntimeDep, current_user_id: CurrentUserId, content: Content, generator: Injected`.
   Database work is synchronous: declare handlers `sync_to_thread=True` and use
   `with runtime.session() as session: return service.do(session, ...)`.
4. Raise `bookctl.errors` exceptions (NotFoundError, ValidationError, UpstreamError, ...). The app-wide
   handler in `bookctl.api.errors` maps every one to `{"error", "message", "detail"}` with its status;
   nothing else is needed. Document them with `responses=error_responses(400, 401, 404)`.
5. Use msgspec Structs named `XCreate`/`XUpdate`/`X` and `data: JSONBody[XCreate]` (litestar.params).

Request bodies above `settings.max_body_bytes` (64 KiB by default) are refused with 413, and JSON nested deeper
than `bookctl.api.limits.MAX_JSON_DEPTH` with 400 (before any decoder recurses into it).
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.logging.config import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from bookctl.api.auth import current_user_id, make_caller_provider
from bookctl.api.errors import EXCEPTION_HANDLERS, document_error_headers
from bookctl.api.limits import JSONDepthMiddleware
from bookctl.api.spec import DocumentedAllowMiddleware, finish_document
from bookctl.identity import Identity, warn_if_header_mode
from bookctl.content.service import ContentService
from bookctl.ops import metrics
from bookctl.ops.observe import RequestObserver
from bookctl.ops.shutdown import Drain
from bookctl.ops.state import OpsState
from bookctl.runtime import Runtime

log = logging.getLogger("bookctl.api")


def controllers() -> list[type]:
    """Every controller of the app (a plain list: add yours here)."""
    from bookctl.api.content import ContentController
    from bookctl.api.health import HealthController
    from bookctl.api.ops import OpsController
    from bookctl.api.onboarding import OnboardingController, PreferencesController
    from bookctl.api.progress import ProgressController
    from bookctl.api.users import UserController

    from bookctl.api.personalize import PersonalizeController
    from bookctl.api.search import SearchController

    return [HealthController, OpsController, UserController, OnboardingController, PreferencesController, ContentController,
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
    identity = Identity.from_settings(settings)
    warn_if_header_mode(settings.auth)
    content = content or ContentService(runtime)
    if personalization is None:
        personalization = _personalization(runtime, generator)
    if embedder is None:
        embedder = _embedder(runtime)
    metrics.enable()
    drain = Drain(settings.shutdown_delay)
    ops = OpsState(drain, llm_configured=generator is not None or bool(settings.openai_api_key or settings.openai_base_url))

    def _const(value: Any) -> Provide:
        def provider() -> Any:
            return value
        provider.__annotations__["return"] = Any
        return Provide(provider, use_cache=True, sync_to_thread=False)

    dependencies = {
        "runtime": _const(runtime),
        "signer": _const(identity.signer),
        "identity": _const(identity),
        "content": _const(content),
        "embedder": _const(embedder),
        "generator": _const(generator),
        "personalization": _const(personalization),
        "ops": _const(ops),
        "caller": Provide(make_caller_provider(identity, runtime), sync_to_thread=False),
        # sync in a worker thread: verifying a token may read the database (and, in jwt mode, the JWKS)
        "current_user_id": Provide(current_user_id, sync_to_thread=True),
    }
    handlers: list[Any] = [*(controllers() if learner_api else _probes()), *extra_controllers]
    extras: dict[str, Any] = {}
    if learner_api:  # the book for AI assistants at /mcp, over the same services (bookctl/mcp)
        mcp_endpoint, mcp_lifespan = _mcp(runtime, content, embedder, personalization, identity)
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
            "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT",
                                          description="token mode: the token from POST /api/user/create (or "
                                                      "/api/user/token/refresh); jwt mode: the identity provider's "
                                                      "JWT. User-scoped operations declare it; public ones have "
                                                      "security: []"),
        }),
        render_plugins=[SwaggerRenderPlugin()],
    )
    cors = CORSConfig(allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST", "PUT", "DELETE"],
                      allow_headers=["Authorization", "Content-Type", "X-User-ID"], allow_credentials=False,
                      expose_headers=["Retry-After"])
    app = Litestar(
        route_handlers=handlers,
        on_startup=[drain.install],
        dependencies=dependencies,
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=openapi,
        cors_config=cors if settings.cors_origins else None,
        request_max_body_size=settings.max_body_bytes,
        middleware=[DefineMiddleware(JSONDepthMiddleware, max_body_bytes=settings.max_body_bytes),
                    DocumentedAllowMiddleware, *extras.pop("middleware", [])],
        # Litestar would replace the root handler with its own text format: leave logging to the edge
        # (`bookctl serve`: text or BOOKCTL_LOG_FORMAT=json), its logger propagating to whatever is there.
        logging_config=LoggingConfig(configure_root_logger=False,
                                     loggers={"litestar": {"level": "INFO", "handlers": [], "propagate": True}}),
        debug=debug,
        **extras,
    )
    app.on_startup.append(lambda: document_error_headers(app.openapi_schema))
    app.on_startup.append(lambda: finish_document(app.openapi_schema))
    # one verifier per process (the JWKS cache and its refetch limit): other edges mounted in this app (the MCP
    # server) take it from here rather than building their own
    app.state.identity = identity
    # Outermost, around routing too (404s are logged and counted): request id, metrics, log line, draining 503.
    app.asgi_handler = RequestObserver(app.asgi_handler, drain.is_draining)
    return app


def _probes() -> list[type]:
    from bookctl.api.health import HealthController
    from bookctl.api.ops import OpsController

    return [HealthController, OpsController]


def _personalization(runtime: Runtime, generator: Any) -> Any:
    from bookctl.llm.generate import OpenAIGenerator
    from bookctl.personalization.service import PersonalizationService

    # OpenAIGenerator builds its HTTP client on first use, so an unconfigured server still starts; a cache
    # miss then answers 503 naming OPENAI_API_KEY.
    return PersonalizationService.from_runtime(runtime, generator or OpenAIGenerator.from_settings(runtime.settings))


def _mcp(runtime: Runtime, content: ContentService, embedder: Any, personalization: Any, identity: Identity):
    """The MCP server at /mcp (streamable HTTP) over this app's own services and bearer verification."""
    from bookctl.mcp.identity import Identity as McpIdentity, bearer_verifier
    from bookctl.mcp.mount import mcp_mount
    from bookctl.mcp.server import McpDeps

    return mcp_mount(McpDeps(runtime, content, embedder, personalization,
                             McpIdentity(bearer_verifier(identity, runtime))))


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
    import os

    from bookctl.api.connections import GuardedH11Protocol
    from bookctl.config import load_settings
    from bookctl.ops.observe import configure_logging

    settings = load_settings()
    GuardedH11Protocol.from_settings(settings)  # this worker's slow-client limits (serve passes the class by name)
    # a spawned worker starts with no logging set up
    configure_logging(settings.log_format, request_lines=os.environ.get("BOOKCTL_ACCESS_LOG") != "off")
    runtime = Runtime.open(settings)
    app = create_app(runtime)
    app.on_shutdown.append(runtime.close)
    # prometheus-client's documented bookkeeping for a worker that exits (its live gauges leave the sums)
    app.on_shutdown.append(lambda: metrics.mark_worker_dead(os.getpid()))
    return app
