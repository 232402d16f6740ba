"""What the operations endpoints need from the app that built them."""

from __future__ import annotations

from dataclasses import dataclass

from bookctl.ops.shutdown import Drain


@dataclass(frozen=True)
class OpsState:
    """What the operations endpoints need from the app that built them."""

    drain: Drain
    llm_configured: bool
