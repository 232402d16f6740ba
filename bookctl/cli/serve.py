"""`bookctl serve [--host] [--port]`: the learner API under uvicorn.

Settings and the Runtime are built here, at the edge, and handed to `bookctl.api.app.create_app`.
"""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
        log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "info",
        access_log: Annotated[bool, typer.Option("--access-log/--no-access-log", help="Log every request.")] = True,
    ) -> None:
        """Serve the learner API (OpenAPI at /schema) under uvicorn."""
        import logging

        import uvicorn

        from bookctl.api.app import create_app
        from bookctl.cli.common import settings
        from bookctl.runtime import Runtime

        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        runtime = Runtime.open(settings())
        try:
            api = create_app(runtime)
            uvicorn.run(api, host=host, port=port, log_level=log_level, access_log=access_log)
        finally:
            runtime.close()
