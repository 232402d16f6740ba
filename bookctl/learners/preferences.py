"""Onboarding (the six questions) and preferences (partial updates of the same six fields)."""

from __future__ import annotations

import uuid
from typing import NamedTuple

import msgspec
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from bookctl.db import models as m
from bookctl.errors import NotFoundError
from bookctl.learners.schemas import OnboardingCreate, Preferences, PreferencesUpdate, as_utc
from bookctl.learners.users import get_user_row

FIELDS = ("education_level", "programming_experience", "robotics_background", "ai_ml_experience",
          "learning_goals", "preferred_language")


def to_schema(row: m.UserPreferences) -> Preferences:
    return Preferences(
        id=row.id, user_id=row.user_id, education_level=row.education_level,
        programming_experience=row.programming_experience, robotics_background=bool(row.robotics_background),
        ai_ml_experience=row.ai_ml_experience, learning_goals=list(row.learning_goals or []),
        preferred_language=row.preferred_language, created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
    )


def _row(session: Session, user_id: uuid.UUID) -> m.UserPreferences | None:
    return session.scalars(select(m.UserPreferences).where(m.UserPreferences.user_id == user_id)).one_or_none()


def complete_onboarding(session: Session, user_id: uuid.UUID, answers: OnboardingCreate) -> Preferences:
    """Store all six answers (replacing earlier ones) and mark the user's onboarding as completed."""
    user = get_user_row(session, user_id)
    values = {f: getattr(answers, f) for f in FIELDS}
    values["learning_goals"] = list(dict.fromkeys(values["learning_goals"]))
    row = _row(session, user_id)
    if row is None:
        row = m.UserPreferences(user_id=user_id, **values)
        session.add(row)
    else:
        for key, value in values.items():
            setattr(row, key, value)
    user.onboarding_completed = True
    session.flush()
    return to_schema(row)


def get_preferences(session: Session, user_id: uuid.UUID) -> Preferences:
    get_user_row(session, user_id)
    row = _row(session, user_id)
    if row is None:
        raise NotFoundError("this user has not completed onboarding yet: POST /api/onboarding first",
                            detail={"user_id": str(user_id)})
    return to_schema(row)


def update_preferences(session: Session, user_id: uuid.UUID, changes: PreferencesUpdate) -> Preferences:
    """Change only the fields given; the rest keep their values."""
    get_user_row(session, user_id)
    row = _row(session, user_id)
    if row is None:
        raise NotFoundError("this user has not completed onboarding yet: POST /api/onboarding first",
                            detail={"user_id": str(user_id)})
    for key in FIELDS:
        value = getattr(changes, key)
        if value is not msgspec.UNSET:
            setattr(row, key, list(dict.fromkeys(value)) if key == "learning_goals" else value)
    session.flush()
    return to_schema(row)


class LearnerLevel(NamedTuple):
    """What recommendations need of a learner: None/[] before onboarding."""

    programming_experience: str | None
    learning_goals: list[str]


# Built once: a hot path (every recommendations request), and SQLAlchemy then reuses its compiled form.
# Core tables, not ORM entities: a plain select skips the ORM's result machinery.
_users, _prefs = m.User.__table__, m.UserPreferences.__table__
_LEVEL = (select(_prefs.c.programming_experience, _prefs.c.learning_goals)
          .select_from(_users.outerjoin(_prefs, _prefs.c.user_id == _users.c.id))
          .where(_users.c.id == bindparam("user_id")))


def learner_level(session: Session, user_id: uuid.UUID) -> LearnerLevel:
    """The user's level and goals in one query; NotFoundError if the user does not exist."""
    row = session.execute(_LEVEL, {"user_id": user_id}).first()
    if row is None:
        raise NotFoundError(f"user {user_id} not found", detail={"user_id": str(user_id)})
    return LearnerLevel(row.programming_experience, list(row.learning_goals or []))
