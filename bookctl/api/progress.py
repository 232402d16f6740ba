"""The learner's progress and recommendations. Every endpoint is user-scoped (bearer token)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from bookctl.api.deps import BEARER, Content, CurrentUserId, RuntimeDep
from bookctl.api.errors import error_responses
from bookctl.content.resolver import split_action
from bookctl.learners import progress, recommendations
from bookctl.learners.schemas import LessonProgress, ProgressSummary, Recommendations, TimeUpdate

_ACTIONS = ("start", "complete")
_SLUG_DOC = ("The lesson: a slug (`chapter/lesson`), a route or the site's pathname. Its slashes may be sent as "
             "they are or percent-encoded")


def _act(runtime, content, user_id, ref: str, action: str) -> LessonProgress:
    entry = content.entry(ref)
    write = progress.start if action == "start" else progress.complete
    return runtime.write(lambda session: write(session, user_id, entry))  # one statement


def _add_time(runtime, content, user_id, ref: str, seconds: int) -> LessonProgress:
    entry = content.entry(ref)
    return runtime.write(lambda session: progress.add_time(session, user_id, entry, seconds))


class ProgressController(Controller):
    """Routing note: a `{ref:path}` parameter must come last, and Litestar sends every request under
    /api/progress/lessons/ to that route. So the hidden `{ref:path}` POST/PUT handlers route `…/start`,
    `…/complete` and `…/time` to the same functions as the explicit operations below, which exist so the OpenAPI
    document (and generated clients) name them: startLesson, completeLesson, addLessonTime."""

    path = "/api/progress"
    tags = ["Progress"]
    security = BEARER

    @get("/", sync_to_thread=True, operation_id="getProgress", responses=error_responses(400, 401, 403, 404, 503),
         summary="Progress summary: overall, per part, per chapter (written lessons only)")
    def summary(self, runtime: RuntimeDep, content: Content, current_user_id: CurrentUserId) -> ProgressSummary:
        snap = content.snapshot()
        with runtime.session() as session:
            return progress.summary(session, current_user_id, snap)

    @get("/recommendations", sync_to_thread=True, operation_id="getRecommendations",
         responses=error_responses(400, 401, 403, 404, 503), summary="What to study next, each with a reason")
    def recommendations(
        self, runtime: RuntimeDep, content: Content, current_user_id: CurrentUserId,
        limit: Annotated[int, QueryParameter(ge=1, le=50, description="How many (1..50)")] = 5,
    ) -> Recommendations:
        snap = content.snapshot()
        with runtime.session() as session:
            return recommendations.recommend(session, current_user_id, snap, limit)

    @get("/lessons/{ref:path}", sync_to_thread=True, operation_id="getLessonProgress",
         responses=error_responses(400, 401, 403, 404, 503), summary="Your progress on one lesson (slug or route)")
    def lesson(self, runtime: RuntimeDep, content: Content, current_user_id: CurrentUserId,
               ref: FromPath[str]) -> LessonProgress:
        entry = content.entry(ref)
        with runtime.session() as session:
            return progress.get_progress(session, current_user_id, entry)

    # ---------------------------------------------------------------- the explicit, documented operations

    @post("/lessons/{slug:str}/start", status_code=200, sync_to_thread=True, operation_id="startLesson", description=_SLUG_DOC,
          responses=error_responses(400, 401, 403, 404, 503), summary="Start a lesson (idempotent)")
    def start(self, runtime: RuntimeDep, content: Content, current_user_id: CurrentUserId,
              slug: FromPath[str]) -> LessonProgress:
        return _act(runtime, content, current_user_id, slug, "start")

    @post("/lessons/{slug:str}/complete", status_code=200, sync_to_thread=True, operation_id="completeLesson", description=_SLUG_DOC,
          responses=error_responses(400, 401, 403, 404, 503), summary="Complete a lesson (starts it if needed)")
    def complete(self, runtime: RuntimeDep, content: Content, current_user_id: CurrentUserId,
                 slug: FromPath[str]) -> LessonProgress:
        return _act(runtime, content, current_user_id, slug, "complete")

    @put("/lessons/{slug:str}/time", sync_to_thread=True, operation_id="addLessonTime", description=_SLUG_DOC,
         responses=error_responses(400, 401, 403, 404, 413, 503),
         summary="Add 1..3600 seconds of reading time (accumulates)")
    def time(self, runtime: RuntimeDep, content: Content, current_user_id: CurrentUserId, slug: FromPath[str],
             data: JSONBody[TimeUpdate]) -> LessonProgress:
        return _add_time(runtime, content, current_user_id, slug, data.seconds)

    # ---------------------------------------------------------------- what the router actually reaches

    @post("/lessons/{ref:path}", status_code=200, sync_to_thread=True, include_in_schema=False)
    def act(self, runtime: RuntimeDep, content: Content, current_user_id: CurrentUserId,
            ref: FromPath[str]) -> LessonProgress:
        base, action = split_action(ref, _ACTIONS)
        return _act(runtime, content, current_user_id, base, action)

    @put("/lessons/{ref:path}", sync_to_thread=True, include_in_schema=False)
    def timed(self, runtime: RuntimeDep, content: Content, current_user_id: CurrentUserId, ref: FromPath[str],
              data: JSONBody[TimeUpdate]) -> LessonProgress:
        base, _ = split_action(ref, ("time",))
        return _add_time(runtime, content, current_user_id, base, data.seconds)
