"""The API's auth edge: turns request headers into the caller's identity, using `bookctl.identity` (which holds
every verification rule, shared with the MCP server).

Dependencies registered app-wide by `create_app`:
- `caller: Caller` what the request claims: its bearer token (verified on use) and its `X-User-ID`. Handlers whose
  path or body also names a user (`GET /api/user/{user_id}`, `POST /api/onboarding`) call
  ``caller.require(("user_id", the_id))``: every id named must be the same user (else 403).
- `current_user_id: uuid.UUID` = ``caller.require()``: the authenticated learner. Naming it makes a handler
  user-scoped.

Modes (``BOOKCTL_AUTH``), see `bookctl.identity.service`:
- ``token`` (default) and ``jwt``: `Authorization: Bearer <token>` is required; `X-User-ID`, when also sent, must
  be the token's user (else 403). It is never trusted alone.
- ``header`` (local development of the existing site only): identity comes from `X-User-ID`, else from the
  path's `user_id`, else from the body's `user_id`; two that disagree are a 403. A loud warning is logged, and
  `bookctl serve` refuses a non-loopback host unless BOOKCTL_ALLOW_HEADER_AUTH=1.

Using it in a handler (any controller added to the app)::

    @get("/mine", sync_to_thread=True)
    def mine(self, current_user_id: CurrentUserId, runtime: RuntimeDep) -> ...:
        ...
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Annotated

from litestar import Request
from litestar.di import NamedDependency
from litestar.params import HeaderParameter

from bookctl.errors import AuthenticationError, PermissionDeniedError
from bookctl.identity import Identity, resolve_claims
from bookctl.identity.service import warn_if_header_mode  # noqa: F401  (re-exported)
from bookctl.identity.tokens import TokenSigner, load_secret_key  # noqa: F401  (re-exported)
from bookctl.runtime import Runtime

X_USER_ID_DOC = ("The learner's id (a UUID). In header mode it is the identity; in token and jwt modes it is "
                 "optional and must match the bearer token's user (else 403)")


@dataclass
class Caller:
    """The identity claims of one request; the token is verified (once) when first needed."""

    identity: Identity
    runtime: Runtime
    authorization: str | None
    header_user: uuid.UUID | None
    _verified: uuid.UUID | None = field(default=None, init=False)

    @property
    def mode(self) -> str:
        return self.identity.mode

    @property
    def bearer(self) -> str | None:
        if not self.authorization:
            return None
        scheme, _, token = self.authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError("Authorization must be 'Bearer <token>'", detail={"reason": "scheme"})
        return token.strip()

    def authenticated(self) -> uuid.UUID | None:
        """The bearer token's user (blocking: may read the database and the JWKS), or None without a token."""
        if self._verified is None:
            token = self.bearer
            if token is None:
                return None
            with self.runtime.session() as session:
                self._verified = self.identity.authenticate(session, token)
        return self._verified

    def require(self, *claims: tuple[str, uuid.UUID | None]) -> uuid.UUID:
        """The caller's user id; every id the request names (X-User-ID, then `claims`) must agree with it."""
        named = [("X-User-ID", self.header_user), *claims]
        user_id = resolve_claims(self.authenticated(), named, trust_claims=self.mode == "header")
        if user_id is None:
            raise AuthenticationError(self._missing_message(), detail={"reason": "missing"})
        return user_id

    def _missing_message(self) -> str:
        if self.mode == "jwt":
            return "missing bearer token: send 'Authorization: Bearer <JWT from the identity provider>'"
        if self.mode == "header":
            return "no user: send X-User-ID (or a bearer token)"
        return "missing bearer token: send 'Authorization: Bearer <token>' (from POST /api/user/create)"


def make_caller_provider(identity: Identity, runtime: Runtime):
    def caller(
        request: Request,
        x_user_id: Annotated[uuid.UUID | None, HeaderParameter(name="X-User-ID", required=False,
                                                               description=X_USER_ID_DOC)] = None,
    ) -> Caller:
        return Caller(identity, runtime, request.headers.get("authorization"), x_user_id)

    return caller


def current_user_id(caller: NamedDependency[Caller]) -> uuid.UUID:
    return caller.require()


def require_same_user(current_user_id: uuid.UUID, requested: uuid.UUID) -> None:
    if current_user_id != requested:
        raise PermissionDeniedError("you can only access your own user", detail={"user_id": str(requested)})
