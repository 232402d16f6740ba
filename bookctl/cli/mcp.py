"""`bookctl mcp ...`: the book for AI assistants over the Model Context Protocol.

- `bookctl mcp serve [--transport stdio|streamable-http|sse] [--host] [--port]`: the MCP server (docs/mcp.md).
- `bookctl mcp tools [--markdown|--json]`: the server's tools, listed by the server itself (docs/mcp.md's table).
- `bookctl mcp storage-server --root DIR`: the reference MCP storage server (PanaversityFS tool contract) for
  lesson bodies (`BOOKCTL_STORAGE_URL=mcp+http://…`).

Settings, the Runtime and the services are built here, at the edge, and passed to `bookctl.mcp.server`.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from bookctl.cli.common import JsonOpt

app = typer.Typer(no_args_is_help=True, help="MCP servers: the book for AI assistants, and a storage server for "
                                            "lesson bodies.")

Transport = Literal["stdio", "streamable-http", "sse"]


@app.command("serve")
def serve(
    transport: Annotated[str, typer.Option("--transport", help="stdio (for a local assistant), streamable-http "
                                                              "(served at /mcp) or sse (served at /sse).")] = "stdio",
    host: Annotated[str, typer.Option("--host", help="Interface to listen on (HTTP transports).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port (HTTP transports).")] = 8001,
) -> None:
    """Serve the book's tools, resources and prompts to AI assistants.

    Over stdio, BOOKCTL_MCP_USER_TOKEN (a bearer token from POST /api/user/create) names the learner for the
    learner tools; over HTTP each request's `Authorization: Bearer` header does.
    """
    from bookctl.errors import UsageError

    if transport not in ("stdio", "streamable-http", "sse"):
        raise UsageError(f"--transport must be stdio, streamable-http or sse; got {transport!r}")
    mcp_serve(transport, host=host, port=port)  # type: ignore[arg-type]


def mcp_serve(transport: Transport, *, host: str = "127.0.0.1", port: int = 8001) -> None:
    """Run the MCP server until it is stopped (stdin closes, or SIGINT/SIGTERM for HTTP)."""
    import logging
    import sys

    from bookctl.cli.common import settings
    from bookctl.mcp.server import build_server
    from bookctl.runtime import Runtime

    # stdout is the protocol on stdio: every log line goes to stderr
    logging.basicConfig(level=logging.WARNING if transport == "stdio" else logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    s = settings()
    runtime = Runtime.open(s)
    try:
        deps = open_deps(runtime, stdio=transport == "stdio")
        server = build_server(deps)
        if transport == "stdio":
            server.run("stdio")
        elif transport == "sse":
            server.run("sse", host=host, port=port)
        else:
            # as the API's /mcp mount: JSON bodies, and no per-process session state (replicas can share clients)
            server.run("streamable-http", host=host, port=port, json_response=True, stateless_http=True)
    finally:
        runtime.close()


def open_deps(runtime: Any, *, stdio: bool) -> Any:
    """The services `create_app` would build, over this process's Runtime."""
    import logging

    from bookctl.identity import Identity as ApiIdentity
    from bookctl.content.service import ContentService
    from bookctl.errors import ConfigError
    from bookctl.llm.embedders import make_embedder
    from bookctl.llm.generate import OpenAIGenerator
    from bookctl.mcp.identity import Identity, bearer_verifier
    from bookctl.mcp.server import McpDeps
    from bookctl.personalization.service import PersonalizationService

    s = runtime.settings
    try:
        embedder = make_embedder(s)  # the local model loads on first use, not here
    except ConfigError as exc:
        logging.getLogger("bookctl.mcp").warning("search is lexical only: %s", exc.message)
        embedder = None
    verify = bearer_verifier(ApiIdentity.from_settings(s), runtime)  # token or jwt mode, as the API
    # Over HTTP the token comes with each request; the environment's token is for a personal stdio setup only.
    identity = Identity(verify, stdio_token=s.mcp_user_token if stdio else None)
    personalization = PersonalizationService.from_runtime(runtime, OpenAIGenerator.from_settings(s))
    return McpDeps(runtime, ContentService(runtime), embedder, personalization, identity)


@app.command("tools")
def tools(
    markdown: Annotated[bool, typer.Option("--markdown", help="The markdown table docs/mcp.md embeds.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List the server's tools with their arguments (no database needed)."""
    import sys

    from bookctl.mcp.docs import list_tools, tools_markdown

    listed = list_tools()
    if as_json:
        import json

        sys.stdout.write(json.dumps({"tools": listed}, sort_keys=True) + "\n")
    elif markdown:
        sys.stdout.write(tools_markdown(listed))
    else:
        for tool in listed:
            who = "learner" if tool["learner"] else "public"
            sys.stdout.write(f"{tool['name']:<22} {who:<8} {tool['summary']}\n")


class StorageTransport(str, Enum):
    streamable_http = "streamable-http"
    sse = "sse"


@app.command("storage-server")
def storage_server(
    root: Annotated[Path, typer.Option("--root", help="Folder to keep the files in (under ROOT/books/<book_id>/).",
                                       file_okay=False)],
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port (0: pick a free one).")] = 8001,
    transport: Annotated[StorageTransport, typer.Option("--transport", help="streamable-http (/mcp) or sse (/sse).")] =
        StorageTransport.streamable_http,
) -> None:
    """Serve files under ROOT over MCP with the PanaversityFS tools (write/read/delete_content, glob_search).

    Prints the storage URL to use (BOOKCTL_STORAGE_URL) once it is listening."""
    from bookctl.errors import ConfigError
    from bookctl.storage.mcp_server import serve

    root.mkdir(parents=True, exist_ok=True)

    def announce(url: str) -> None:
        typer.echo(f"serving {root} at {url}", err=False)

    try:
        serve(root, host=host, port=port, transport=transport.value, announce=announce)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
