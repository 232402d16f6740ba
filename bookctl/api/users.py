"""Users: create an anonymous learner (returns a bearer token), read one's own user, refresh a token."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody

from bookctl.api.deps import BEARER, CallerDep, CurrentUserId, IdentityDep, RuntimeDep
from bookctl.api.errors import error_responses
from bookctl.errors import AuthenticationError, PermissionDeniedError
from bookctl.identity import ensure_user
from bookctl.learners import users
from bookctl.learners.schemas import TokenRefreshed, User, UserCreate, UserCreated


class UserController(Controller):
    path = "/api/user"
    tags = ["User"]

    @post("/create", status_code=201, sync_to_thread=True, operation_id="createUser",
          responses=error_responses(400, 401, 403, 409, 413, 503),
          summary="Create a new anonymous user (returns a bearer token in token mode)")
    def create(self, runtime: RuntimeDep, identity: IdentityDep, caller: CallerDep,
               data: JSONBody[UserCreate | None] = None) -> UserCreated:
        """Send `{"user_id": "<uuid>"}` (the contract's client-generated id), or `{}` / no body for a new id.

        token/header modes: 201 with a token; an existing id is 409. jwt mode: the bearer JWT's learner is the
        user (a body `user_id` must match it); their row exists since first sight, so this answers it, with no
        token (the identity provider issues those)."""
        requested = data.user_id if data else None
        if identity.mode == "jwt":
            user_id = caller.require(("user_id", requested))
            with runtime.session() as session:
                ensure_user(session, user_id)
                user = users.get_user(session, user_id)
        else:
            if caller.header_user is not None and requested is not None and caller.header_user != requested:
                raise PermissionDeniedError("X-User-ID and user_id name different users", detail={"field": "user_id"})
            with runtime.session() as session:
                user = users.create_user(session, requested or caller.header_user)
        token, expires_at = identity.issue(user.id, user.created_at)
        return UserCreated(id=user.id, created_at=user.created_at, updated_at=user.updated_at,
                           onboarding_completed=user.onboarding_completed, token=token, token_type="bearer",
                           expires_at=expires_at)

    @get("/me", sync_to_thread=True, operation_id="getCurrentUser", security=BEARER,
         responses=error_responses(400, 401, 403, 404, 503), summary="Get the calling user")
    def me(self, runtime: RuntimeDep, current_user_id: CurrentUserId) -> User:
        with runtime.session() as session:
            return users.get_user(session, current_user_id)

    @post("/token/refresh", status_code=200, sync_to_thread=True, operation_id="refreshToken", security=BEARER,
          responses=error_responses(400, 401, 403, 404), summary="Exchange a valid or recently expired token for a new one")
    def refresh(self, runtime: RuntimeDep, identity: IdentityDep, caller: CallerDep) -> TokenRefreshed:
        """Send the old token as `Authorization: Bearer <token>`. It may have expired up to
        BOOKCTL_TOKEN_REFRESH_WINDOW seconds ago, or be signed with a previous key; the new one is signed with the
        current key. A token of a deleted (or deleted and re-created) user is refused."""
        token = caller.bearer
        if token is None:
            raise AuthenticationError("send the token to refresh as 'Authorization: Bearer <token>'",
                                      detail={"reason": "missing"})
        with runtime.session() as session:
            user_id, new_token, expires_at = identity.refresh(session, token)
        if caller.header_user is not None and caller.header_user != user_id:
            raise PermissionDeniedError("X-User-ID does not match the token's user", detail={"field": "X-User-ID"})
        return TokenRefreshed(user_id=user_id, token=new_token, token_type="bearer", expires_at=expires_at)

    @get("/{user_id:uuid}", sync_to_thread=True, operation_id="getUser", security=BEARER,
         responses=error_responses(400, 401, 403, 404, 503), summary="Get your own user")
    def read(self, runtime: RuntimeDep, caller: CallerDep, user_id: FromPath[uuid.UUID]) -> User:
        """Header mode: the path's id is the identity when no X-User-ID is sent (the site's first call); an
        unknown id is a 404, which the site answers by creating the user."""
        user_id = caller.require(("user_id", user_id))
        with runtime.session() as session:
            return users.get_user(session, user_id)
