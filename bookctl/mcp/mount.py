"""The MCP server inside the API app: streamable HTTP at /mcp, next to /api, over the app's own services.

`create_app` calls `mcp_mount(deps)` and adds the handler and the lifespan it returns. The SDK's streamable
HTTP app needs its session manager running for the app's lifetime (a task group), which the Litestar lifespan
provides; the app is mounted, so the SDK sees the request at its own root path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from litestar.handlers import asgi

from bookctl.mcp.server import McpDeps, build_server

MOUNT_PATH = "/mcp"


def mcp_mount(deps: McpDeps, *, path: str = MOUNT_PATH) -> tuple[Any, Callable[[Any], AbstractAsyncContextManager[None]]]:
    """(ASGI route handler, lifespan) serving `build_server(deps)` over streamable HTTP at `path`."""
    from mcp.server.transport_security import TransportSecuritySettings

    server = build_server(deps)
    current: dict[str, Any] = {}

    def make_app() -> Any:
        # DNS-rebinding protection guards loopback servers that trust the browser's network position; the API is
        # reached by host name behind proxies, learner data needs a bearer token, and CORS is the API's setting.
        return server.streamable_http_app(
            streamable_http_path="/",
            json_response=True,  # one JSON body per call (no tool streams progress); an SSE stream per POST cost 1.4x
            # No session state in the process: `bookctl serve --workers N` and N replicas behind a load balancer
            # may each get a different request of one client (identity comes with every request's bearer token).
            stateless_http=True,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )

    @asgi(path, is_mount=True, copy_scope=True, include_in_schema=False)
    async def mcp_endpoint(scope: Any, receive: Any, send: Any) -> None:
        await current["app"](scope, receive, send)

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        # A session manager runs once; an app started again (tests, schemathesis) gets a fresh one each start.
        current["app"] = make_app()
        async with server.session_manager.run():
            yield

    return mcp_endpoint, lifespan
