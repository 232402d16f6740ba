"""The learner's progress and recommendations. Every endpoint is user-scoped (bearer token)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from bookctl.api.deps import Content, CurrentUserId, RuntimeDep, Signer
from bookctl.api.errors import error_responses
from bookctl.content.service import ContentService
from bookctl.errors import NotFoundError
from bookctl.learners import progress, recommendations
from bookctl.learners.schemas import LessonProgress, ProgressSummary, Recommendations, TimeUpdate
from bookctl.runtime import Runtime

_ACTIONS = ("start", "complete")


def _split(ref: FromPath[str], actions: tuple[str, ...]) -> tuple[str, str]:
    """`slug/start` -> (`slug`, `start`); the action must be one of `actions`."""
    ref = ref.strip("/")
    base, _, action = ref.rpartition("/")
    if action not in actions or not base:
        raise NotFoundError(f"unknown progress action: use /api/progress/lessons/{{slug}}/{'|'.join(actions)}",
                            detail={"allowed": list(actions)})
    return base, action


class ProgressController(Controller):
    path = "/api/progress"
    tags = ["Progress"]

    @get("/", sync_to_thread=True, responses=error_responses(400, 401, 403, 404),
         summary="Progress summary: overall, per part, per chapter (written lessons only)")
    def summary(self, runtime: RuntimeDep, content: Content, current_user_id: CurrentUserId) -> ProgressSummary:
        snap = content.snapshot()
        with runtime.session() as session:
            return progress.summary(session, current_user_id, snap)

    @get("/recommendations", sync_to_thread=True, responses=error_responses(400, 401, 403, 404),
         summary="What to study next, each with a reason and a reason code")
    def recommendations(
        self, runtime: RuntimeDep, content: Content, current_user_id: CurrentUserId,
        limit: Annotated[int, QueryParameter(ge=1, le=50, description="How many (1..50)")] = 5,
    ) -> Recommendations:
        snap = content.snapshot()
        with runtime.session() as session:
            return recommendations.recommend(session, current_user_id, snap, limit)

    @get("/lessons/{ref:path}", sync_to_thread=True, responses=error_responses(400, 401, 403, 404),
         summary="Your progress on one lesson (by slug or route)")
    def lesson(self, runtime: RuntimeDep, content: Content, current_user_id: CurrentUserId,
               ref: FromPath[str]) -> LessonProgress:
        entry = content.entry(ref)
        with runtime.session() as session:
            return progress.get_progress(session, current_user_id, entry)

    @post("/lessons/{ref:path}", status_code=200, sync_to_thread=True,
          responses=error_responses(400, 401, 403, 404),
          summary="POST {slug}/start (idempotent) or {slug}/complete (starts it if needed)")
    def act(self, runtime: RuntimeDep, content: Content, current_user_id: CurrentUserId,
            ref: FromPath[str]) -> LessonProgress:
        base, action = _split(ref, _ACTIONS)
        entry = content.entry(base)
        write = progress.start if action == "start" else progress.complete
        return runtime.write(lambda session: write(session, current_user_id, entry))  # one statement

    @put("/lessons/{ref:path}", sync_to_thread=True, responses=error_responses(400, 401, 403, 404, 413),
         summary="PUT {slug}/time: add 1..3600 seconds of reading time (accumulates)")
    def time(self, runtime: RuntimeDep, content: Content, current_user_id: CurrentUserId, ref: FromPath[str],
             data: JSONBody[TimeUpdate]) -> LessonProgress:
        base, _ = _split(ref, ("time",))
        entry = content.entry(base)
        return runtime.write(lambda session: progress.add_time(session, current_user_id, entry, data.seconds))
