"""msgspec schemas for learners: users, onboarding/preferences, progress and recommendations.

Field names and enums follow the frontend contract (contract/api.yaml) exactly. Services return these
Structs; the API serialises them as they are.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Annotated, Literal, get_args

import msgspec
from msgspec import Meta, Struct

EducationLevel = Literal["high_school", "undergraduate", "graduate", "professional"]
ProgrammingExperience = Literal["none", "beginner", "intermediate", "advanced"]
AiMlExperience = Literal["none", "basic", "intermediate", "advanced"]
LearningGoal = Literal["career_change", "research", "hobby", "teaching", "building_projects"]
Language = Literal["en", "ur"]
ProgressStatus = Literal["not_started", "in_progress", "completed"]
ReasonCode = Literal["in_progress", "continue_chapter", "goal_match", "next_in_order", "layer_progression"]

def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes (stored as UTC): make every timestamp timezone-aware."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


#: Allowed values per field, used to name them in validation errors.
ALLOWED_VALUES: dict[str, tuple[str, ...]] = {
    "education_level": get_args(EducationLevel),
    "programming_experience": get_args(ProgrammingExperience),
    "ai_ml_experience": get_args(AiMlExperience),
    "learning_goals": get_args(LearningGoal),
    "preferred_language": get_args(Language),
}

#: Seconds one `PUT .../time` call may add (a heartbeat, not a bulk import).
MAX_TIME_DELTA = 3600

Goals = Annotated[list[LearningGoal], Meta(min_length=1, max_length=5)]


# ------------------------------------------------------------------ users

class UserCreate(Struct, forbid_unknown_fields=False):
    """Body of POST /api/user/create. `user_id` is the client-generated UUID; omit it to get one."""

    user_id: uuid.UUID | None = None


class User(Struct):
    id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    onboarding_completed: bool


class UserCreated(Struct):
    """The new user plus the bearer token that identifies them from now on (token mode). In jwt mode the identity
    provider issues tokens, so `token` and `expires_at` are null."""

    id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    onboarding_completed: bool
    token: str | None
    token_type: Literal["bearer"]
    expires_at: datetime | None


class TokenRefreshed(Struct):
    """A fresh bearer token (signed with the current key) for the holder of a valid or recently expired one."""

    user_id: uuid.UUID
    token: str
    token_type: Literal["bearer"]
    expires_at: datetime


# ------------------------------------------------------------------ onboarding / preferences

class OnboardingCreate(Struct):
    """Body of POST /api/onboarding: the six questions. `user_id`, if sent, must be the caller's own."""

    education_level: EducationLevel
    programming_experience: ProgrammingExperience
    robotics_background: bool
    ai_ml_experience: AiMlExperience
    learning_goals: Goals
    preferred_language: Language = "en"
    user_id: uuid.UUID | None = None


class PreferencesUpdate(Struct):
    """Body of PUT /api/user/preferences: any subset of the six fields."""

    education_level: EducationLevel | msgspec.UnsetType = msgspec.UNSET
    programming_experience: ProgrammingExperience | msgspec.UnsetType = msgspec.UNSET
    robotics_background: bool | msgspec.UnsetType = msgspec.UNSET
    ai_ml_experience: AiMlExperience | msgspec.UnsetType = msgspec.UNSET
    learning_goals: Goals | msgspec.UnsetType = msgspec.UNSET
    preferred_language: Language | msgspec.UnsetType = msgspec.UNSET


class Preferences(Struct):
    """The contract's UserPreferencesResponse."""

    id: uuid.UUID
    user_id: uuid.UUID
    education_level: str
    programming_experience: str
    robotics_background: bool
    ai_ml_experience: str
    learning_goals: list[str]
    preferred_language: str
    created_at: datetime
    updated_at: datetime


# ------------------------------------------------------------------ progress

class TimeUpdate(Struct):
    """Body of PUT /api/progress/lessons/{slug}/time: seconds to add (1..3600 per call)."""

    seconds: Annotated[int, Meta(ge=1, le=MAX_TIME_DELTA)]


class LessonProgress(Struct):
    lesson_id: uuid.UUID
    slug: str
    route: str | None
    title: str
    status: ProgressStatus
    started_at: datetime | None
    completed_at: datetime | None
    time_spent_seconds: int


class ProgressCounts(Struct):
    total: int
    completed: int
    in_progress: int
    percent_complete: float
    time_spent_seconds: int


class ChapterProgress(Struct):
    number: int
    title: str
    total: int
    completed: int
    in_progress: int
    percent_complete: float


class PartProgress(Struct):
    number: int
    title: str
    total: int
    completed: int
    in_progress: int
    percent_complete: float
    chapters: list[ChapterProgress]


class ProgressSummary(Struct):
    """Progress over written lessons only (planned lessons cannot be read yet)."""

    user_id: uuid.UUID
    overall: ProgressCounts
    parts: list[PartProgress]


# ------------------------------------------------------------------ recommendations

class Recommendation(Struct):
    lesson_id: uuid.UUID
    slug: str
    route: str | None
    title: str
    type: str
    layer: str | None
    part_number: int | None
    chapter_number: int | None
    reason_code: ReasonCode
    reason: str


class Recommendations(Struct):
    user_id: uuid.UUID
    items: list[Recommendation]
