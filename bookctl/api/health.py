"""Liveness: a constant response (also the framework ceiling in bench/api_bench.py)."""

from __future__ import annotations

import msgspec
from litestar import Controller, get


class Health(msgspec.Struct):
    status: str


_OK = Health("ok")


class HealthController(Controller):
    path = "/healthz"
    tags = ["Health"]

    @get("/", operation_id="healthz", summary="Liveness check")
    async def healthz(self) -> Health:
        return _OK
