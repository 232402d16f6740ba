"""Onboarding (the six questions) and the learner's preferences."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post, put
from litestar.params import JSONBody

from bookctl.api.auth import require_same_user
from bookctl.api.deps import Content, CurrentUserId, RuntimeDep, Signer
from bookctl.api.errors import error_responses
from bookctl.learners import preferences
from bookctl.learners.schemas import OnboardingCreate, Preferences, PreferencesUpdate
from bookctl.runtime import Runtime


class OnboardingController(Controller):
    path = "/api/onboarding"
    tags = ["Onboarding"]

    @post("/", status_code=200, sync_to_thread=True, responses=error_responses(400, 401, 403, 404, 413),
          summary="Submit the onboarding questionnaire")
    def submit(self, runtime: RuntimeDep, current_user_id: CurrentUserId, data: JSONBody[OnboardingCreate]) -> Preferences:
        if data.user_id is not None:
            require_same_user(current_user_id, data.user_id)
        with runtime.session() as session:
            return preferences.complete_onboarding(session, current_user_id, data)


class PreferencesController(Controller):
    path = "/api/user/preferences"
    tags = ["Preferences"]

    @get("/", sync_to_thread=True, responses=error_responses(400, 401, 403, 404), summary="Get your preferences")
    def read(self, runtime: RuntimeDep, current_user_id: CurrentUserId) -> Preferences:
        with runtime.session() as session:
            return preferences.get_preferences(session, current_user_id)

    @put("/", sync_to_thread=True, responses=error_responses(400, 401, 403, 404, 413),
         summary="Update your preferences (any subset of the six fields)")
    def update(self, runtime: RuntimeDep, current_user_id: CurrentUserId, data: JSONBody[PreferencesUpdate]) -> Preferences:
        with runtime.session() as session:
            return preferences.update_preferences(session, current_user_id, data)
