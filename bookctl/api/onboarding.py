"""Onboarding (the six questions) and the learner's preferences."""

from __future__ import annotations

from litestar import Controller, get, post, put
from litestar.params import JSONBody

from bookctl.api.deps import BEARER, CallerDep, CurrentUserId, RuntimeDep
from bookctl.api.errors import error_responses
from bookctl.api.strict import strict_body
from bookctl.learners import preferences
from bookctl.learners.schemas import OnboardingCreate, Preferences, PreferencesUpdate


class OnboardingController(Controller):
    path = "/api/onboarding"
    tags = ["Onboarding"]
    security = BEARER

    @post("/", status_code=200, sync_to_thread=True, operation_id="submitOnboarding",
          before_request=strict_body(OnboardingCreate),
          responses=error_responses(400, 401, 403, 404, 413, 503), summary="Submit the onboarding questionnaire")
    def submit(self, runtime: RuntimeDep, caller: CallerDep, data: JSONBody[OnboardingCreate]) -> Preferences:
        """The body's `user_id`, when sent, must be the caller's (403). In header mode it is the identity when no
        X-User-ID is sent (the site's onboarding call)."""
        user_id = caller.require(("user_id", data.user_id))
        with runtime.session() as session:
            return preferences.complete_onboarding(session, user_id, data)


class PreferencesController(Controller):
    path = "/api/user/preferences"
    tags = ["Preferences"]
    security = BEARER

    @get("/", sync_to_thread=True, operation_id="getPreferences", responses=error_responses(400, 401, 403, 404, 503),
         summary="Get your preferences")
    def read(self, runtime: RuntimeDep, current_user_id: CurrentUserId) -> Preferences:
        with runtime.session() as session:
            return preferences.get_preferences(session, current_user_id)

    @put("/", sync_to_thread=True, operation_id="updatePreferences", before_request=strict_body(PreferencesUpdate),
         responses=error_responses(400, 401, 403, 404, 413, 503),
         summary="Update your preferences (any subset of the six fields)")
    def update(self, runtime: RuntimeDep, current_user_id: CurrentUserId, data: JSONBody[PreferencesUpdate]) -> Preferences:
        with runtime.session() as session:
            return preferences.update_preferences(session, current_user_id, data)
