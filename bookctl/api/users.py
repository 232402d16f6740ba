"""Users: create an anonymous learner (returns a bearer token) and read one's own user."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody

from bookctl.api.auth import TokenSigner, require_same_user
from bookctl.api.deps import Content, CurrentUserId, RuntimeDep, Signer
from bookctl.api.errors import error_responses
from bookctl.learners import users
from bookctl.learners.schemas import User, UserCreate, UserCreated
from bookctl.runtime import Runtime


class UserController(Controller):
    path = "/api/user"
    tags = ["User"]

    @post("/create", status_code=201, sync_to_thread=True, security=[],
          responses=error_responses(400, 409, 413), summary="Create a new anonymous user (returns a bearer token)")
    def create(self, runtime: RuntimeDep, signer: Signer,
               data: JSONBody[UserCreate | None] = None) -> UserCreated:
        """Send `{"user_id": "<uuid>"}` (the contract's client-generated id), or `{}` / no body for a new id."""
        with runtime.session() as session:
            user = users.create_user(session, data.user_id if data else None)
        token, expires_at = signer.issue(user.id)
        return UserCreated(id=user.id, created_at=user.created_at, updated_at=user.updated_at,
                           onboarding_completed=user.onboarding_completed, token=token, token_type="bearer",
                           expires_at=expires_at)

    @get("/{user_id:uuid}", sync_to_thread=True, responses=error_responses(400, 401, 403, 404),
         summary="Get your own user")
    def read(self, runtime: RuntimeDep, current_user_id: CurrentUserId, user_id: FromPath[uuid.UUID]) -> User:
        require_same_user(current_user_id, user_id)
        with runtime.session() as session:
            return users.get_user(session, user_id)
