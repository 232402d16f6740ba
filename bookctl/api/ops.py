"""Operations endpoints: `GET /readyz` (readiness, see bookctl/ops/readiness.py) and `GET /metrics`
(Prometheus exposition, see bookctl/ops/metrics.py). `/healthz` (bookctl/api/health.py) stays liveness only."""

from __future__ import annotations

import msgspec
from litestar import Controller, Response, get
from litestar.openapi.datastructures import ResponseSpec

from bookctl.api.deps import Injected, RuntimeDep
from bookctl.ops import metrics
from bookctl.ops.readiness import readiness


class ReadinessCheck(msgspec.Struct):
    ok: bool
    message: str


class Readiness(msgspec.Struct):
    status: str  # ready | not_ready
    checks: dict[str, ReadinessCheck]
    failing: list[str]


class OpsController(Controller):
    tags = ["Operations"]

    # Probes are for the load balancer, not API clients: kept out of the OpenAPI document (a 503 is their answer).
    @get("/readyz", security=[], summary="Readiness: database, migrations, object store, LLM, not draining",
         include_in_schema=False,
         sync_to_thread=True,
         responses={503: ResponseSpec(data_container=Readiness, description="Not ready: `failing` names each part")})
    def readyz(self, runtime: RuntimeDep, ops: Injected) -> Response[Readiness]:
        checks = readiness(runtime, llm_configured=ops.llm_configured, is_draining=ops.drain.is_draining)
        failing = [c.name for c in checks if not c.ok]
        body = Readiness("not_ready" if failing else "ready",
                         {c.name: ReadinessCheck(c.ok, c.message) for c in checks}, failing)
        return Response(body, status_code=503 if failing else 200)

    # sync in a worker thread: the review backlog is one aggregate query, made at scrape time
    @get("/metrics", security=[], summary="Prometheus metrics", include_in_schema=False, sync_to_thread=True)
    def metrics(self, runtime: RuntimeDep, personalization: Injected) -> Response[bytes]:
        body, content_type = metrics.render([metrics.ReviewBacklogCollector(
            lambda: _backlog(runtime, personalization.prompt_version))])
        return Response(body, media_type=content_type)


def _backlog(runtime, prompt_version: str) -> dict[str, int]:
    from bookctl.review import service as review

    with runtime.session() as session:
        return review.backlog(session, prompt_version).as_dict()
