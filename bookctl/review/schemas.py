"""What the review service returns (dataclasses; the web page and the CLI render them)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

# The onboarding questions behind a profile, in words (learning goals shape recommendations, not the text).
QUESTIONS: dict[str, str] = {
    "education_level": "Education",
    "programming_experience": "Programming experience",
    "robotics_background": "Robotics background",
    "ai_ml_experience": "AI/ML experience",
    "preferred_language": "Language",
}
ANSWERS: dict[str, dict[Any, str]] = {
    "education_level": {"high_school": "High school", "undergraduate": "Undergraduate", "graduate": "Graduate",
                        "professional": "Professional"},
    "programming_experience": {"none": "None", "beginner": "Beginner", "intermediate": "Intermediate",
                               "advanced": "Advanced"},
    "robotics_background": {True: "Yes", False: "No"},
    "ai_ml_experience": {"none": "None", "basic": "Basic", "intermediate": "Intermediate", "advanced": "Advanced"},
    "preferred_language": {"en": "English", "ur": "Urdu"},
}
GOALS_NOTE = "Learning goals (the sixth answer) shape recommendations, not the text, so they do not split variants."


def profile_in_words(profile: dict[str, Any]) -> list[tuple[str, str]]:
    return [(question, ANSWERS[name].get(profile.get(name), str(profile.get(name))))
            for name, question in QUESTIONS.items()]


@dataclass(frozen=True)
class LessonSummary:
    lesson_id: uuid.UUID
    book: str
    slug: str
    title: str
    route: str | None
    variants: int = 0      # current variants (this lesson body and prompt version)
    profiles: int = 0      # distinct profiles among them
    approved: int = 0
    unreviewed: int = 0
    rejected: int = 0
    stale: int = 0         # variants of an older lesson body or prompt: never served again

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"lesson_id": str(self.lesson_id)}


@dataclass(frozen=True)
class VariantSummary:
    id: uuid.UUID
    lesson_slug: str
    profile_hash: str
    profile: dict[str, Any]
    status: str
    stale: bool
    model: str
    prompt_version: str
    created_at: datetime | None
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None

    @property
    def profile_words(self) -> list[tuple[str, str]]:
        return profile_in_words(self.profile)

    @property
    def label(self) -> str:
        return ", ".join(answer for _question, answer in self.profile_words)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(id=str(self.id), label=self.label,
                    created_at=self.created_at.isoformat() if self.created_at else None,
                    reviewed_at=self.reviewed_at.isoformat() if self.reviewed_at else None)
        return data


@dataclass(frozen=True)
class GuardResult:
    rule: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class VariantDetail:
    summary: VariantSummary
    lesson_title: str
    lesson_route: str | None
    original: str
    text: str
    guards: list[GuardResult]
    learners: int                      # onboarded learners whose answers give this profile
    tokens_in: int | None
    tokens_out: int | None
    generation_ms: int | None
    review_note: str | None
    correction: str | None             # the editor's note this text was generated with
    original_missing: str | None = None  # why the original could not be read (stale variant, store error)
    others: list[VariantSummary] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"variant": self.summary.as_dict(), "lesson_title": self.lesson_title, "lesson_route": self.lesson_route,
                "guards": [asdict(g) for g in self.guards], "learners": self.learners, "tokens_in": self.tokens_in,
                "tokens_out": self.tokens_out, "generation_ms": self.generation_ms, "review_note": self.review_note,
                "correction": self.correction, "text": self.text}


@dataclass(frozen=True)
class Backlog:
    unreviewed: int
    rejected: int
    approved: int
    stale: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)
