"""Transport-free result types of the personalization service (the API maps them to the contract shape)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


REVIEW_STATES = ("unreviewed", "approved", "rejected")
REVIEW_POLICIES = ("off", "required")


@dataclass(frozen=True)
class Variant:
    personalized_content: str
    cached: bool
    generated_at: datetime
    lesson_slug: str = ""
    profile_hash: str = ""
    # False when the learner gets the original instead (review policy `required` and no approved variant yet);
    # `reason` then says why: not_generated | awaiting_review | rejected.
    personalized: bool = True
    reason: str | None = None

    def as_contract(self) -> dict[str, Any]:
        """The contract's PersonalizeResponse (plus `personalized` and `reason`, which the contract lacks)."""
        return {"personalized_content": self.personalized_content, "cached": self.cached,
                "generated_at": self.generated_at.isoformat(), "personalized": self.personalized,
                "reason": self.reason}


@dataclass(frozen=True)
class Generated:
    text: str
    tokens_in: int
    tokens_out: int
    calls: int
