"""Transport-free result types of the personalization service (the API maps them to the contract shape)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Variant:
    personalized_content: str
    cached: bool
    generated_at: datetime
    lesson_slug: str = ""
    profile_hash: str = ""

    def as_contract(self) -> dict[str, Any]:
        """The contract's PersonalizeResponse."""
        return {"personalized_content": self.personalized_content, "cached": self.cached,
                "generated_at": self.generated_at.isoformat()}


@dataclass(frozen=True)
class Generated:
    text: str
    tokens_in: int
    tokens_out: int
    calls: int
