"""`bookctl serve [--host] [--port]`: the learner API under uvicorn.

Settings and the Runtime are built here, at the edge, and handed to `bookctl.api.app.create_app`.
`--host`/`--port` also come from BOOKCTL_HOST and PORT (what container platforms set).
"""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: Annotated[str, typer.Option("--host", envvar="BOOKCTL_HOST", help="Interface to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", envvar="PORT", min=1, max=65535, help="TCP port.")] = 8000,
        workers: Annotated[int, typer.Option("--workers", min=1, max=64,
                                             help="Worker processes (one per core is typical).")] = 1,
        log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "info",
        access_log: Annotated[bool, typer.Option("--access-log/--no-access-log", help="Log every request.")] = True,
    ) -> None:
        """Serve the learner API (OpenAPI at /schema) under uvicorn."""
        import logging
        import os
        import tempfile

        import uvicorn

        from bookctl.api.app import create_app
        from bookctl.api.connections import GuardedH11Protocol
        from bookctl.cli.common import settings
        from bookctl.errors import ConfigError
        from bookctl.identity import check_bind, load_secret_key
        from bookctl.ops.observe import configure_logging
        from bookctl.runtime import Runtime

        s = settings()
        check_bind(s, host)  # header mode stays on loopback unless BOOKCTL_ALLOW_HEADER_AUTH=1
        configure_logging(s.log_format, request_lines=access_log)
        if not access_log:
            os.environ["BOOKCTL_ACCESS_LOG"] = "off"  # read by worker processes too (from_environment)
        # bookctl's own request line (with request id, JSON or text) replaces uvicorn's access log, and
        # uvicorn's loggers go through the same root handler (log_config=None).
        options = dict(host=host, port=port, log_level=log_level, access_log=False, log_config=None)
        # Opened here even when workers run the app: bad settings fail now, once, with their variable's name,
        # the embedded database is migrated once, and the embedded signing key exists before any worker reads it.
        try:
            runtime = Runtime.open(s)
        except ConfigError as exc:
            if s.is_embedded_db:
                raise
            # A replica of a new release may start before `bookctl db upgrade` has run (or while the database
            # is briefly away): it serves /healthz and names what is missing on /readyz until then.
            logging.getLogger("bookctl.serve").warning("not ready: %s", exc.message)
            runtime = Runtime.open(s, check_schema=False)
        try:
            if workers > 1:
                if s.auth != "jwt":
                    load_secret_key(s)  # the embedded key exists before any worker reads it
                runtime.close()
                # prometheus-client multiprocess mode: every worker writes its samples under one fresh directory,
                # so /metrics on any worker reports the sum over all of them. A directory made here is this
                # server's alone and is removed when it exits; one set by the operator is theirs to keep.
                made = None
                if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
                    made = tempfile.mkdtemp(prefix="bookctl-metrics-")
                    os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
                try:
                    uvicorn.run("bookctl.api.app:from_environment", factory=True, workers=workers,
                                http="bookctl.api.connections:GuardedH11Protocol", **options)  # each worker configures it
                finally:
                    if made is not None:
                        import shutil

                        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
                        shutil.rmtree(made, ignore_errors=True)
                return
            uvicorn.run(create_app(runtime), http=GuardedH11Protocol.from_settings(s), **options)  # docs/serving.md
        finally:
            runtime.close()

