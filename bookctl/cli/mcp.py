"""`bookctl mcp …`: MCP servers. `mcp storage-server` is the reference MCP storage server (PanaversityFS contract)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(name="mcp", no_args_is_help=True, help="MCP servers: a storage server for lesson bodies.")


class Transport(str, Enum):
    streamable_http = "streamable-http"
    sse = "sse"


@app.command("storage-server")
def storage_server(
    root: Annotated[Path, typer.Option("--root", help="Folder to keep the files in (under ROOT/books/<book_id>/).",
                                       file_okay=False)],
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port (0: pick a free one).")] = 8001,
    transport: Annotated[Transport, typer.Option("--transport", help="streamable-http (/mcp) or sse (/sse).")] =
        Transport.streamable_http,
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
