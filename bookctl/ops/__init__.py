"""Running bookctl as a service: Prometheus metrics, readiness checks, structured request logs, shutdown."""

from dataclasses import dataclass

from bookctl.ops.shutdown import Drain


@dataclass(frozen=True)
class OpsState:
    """What the operations endpoints need from the app that built them."""

    drain: Drain
    llm_configured: bool
