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
        workers: Annotated[int, typer.Option("--workers", min=1, max=64,
                                             help="Worker processes (one per core is typical).")] = 1,
        log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "info",
        access_log: Annotated[bool, typer.Option("--access-log/--no-access-log", help="Log every request.")] = True,
    ) -> None:
        """Serve the learner API (OpenAPI at /schema) under uvicorn."""
        import logging

        import uvicorn

        from bookctl.api.app import create_app
        from bookctl.cli.common import settings
        from bookctl.identity import check_bind, load_secret_key
        from bookctl.runtime import Runtime

        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        s = settings()
        check_bind(s, host)  # header mode stays on loopback unless BOOKCTL_ALLOW_HEADER_AUTH=1
        # Opened here even when workers run the app: bad settings fail now, once, with their variable's name,
        # the embedded database is migrated once, and the embedded signing key exists before any worker reads it.
        runtime = Runtime.open(s)
        try:
            if workers > 1:
                if s.auth != "jwt":
                    load_secret_key(s)  # the embedded key exists before any worker reads it
                runtime.close()
                uvicorn.run("bookctl.api.app:from_environment", factory=True, workers=workers, host=host, port=port,
                            log_level=log_level, access_log=access_log)
                return
            uvicorn.run(create_app(runtime), host=host, port=port, log_level=log_level, access_log=access_log)
        finally:
            runtime.close()
