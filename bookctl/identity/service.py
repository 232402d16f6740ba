"""Who is calling: one transport-free function per question, shared by every edge (API, MCP server, CLI).

    identity = Identity.from_settings(settings)          # once per process
    with runtime.session() as session:                   # the edge owns the transaction
        user_id = identity.authenticate(session, token)  # bearer token string -> learner id, or a bookctl error

Modes (``BOOKCTL_AUTH``):
- ``token``: bookctl's own HS256 JWTs (`bookctl.identity.tokens`). The token must belong to the CURRENT life of
  its user (`uct` = the user's creation time), so a deleted and re-created user id does not revive old tokens.
  A valid token for a user that does not exist is a 404 (NotFoundError), like every unknown user.
- ``jwt``: the site's identity provider's JWTs, verified against its JWKS (`bookctl.identity.jwks`). `sub` is the
  learner; their user row is created the first time they are seen.
- ``header``: development only. `X-User-ID` is trusted (that decision is the edge's, via `resolve_claims`); a
  bearer token, when sent, is still verified as in token mode.

Errors: AuthenticationError (401), PermissionDeniedError (403), NotFoundError (404),
IdentityProviderUnavailableError (503). Nothing here imports a web framework.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bookctl.config import Settings
from bookctl.errors import (
    AuthenticationError, ConfigError, ConflictError, NotFoundError, PermissionDeniedError, ValidationError,
)
from bookctl.identity.jwks import JWKSVerifier
from bookctl.identity.tokens import TokenSigner, micros, signer_from_settings
from bookctl.learners import users

log = logging.getLogger("bookctl.identity")


@dataclass
class Identity:
    mode: str
    signer: TokenSigner | None  # bookctl's own tokens (token and header modes); None in jwt mode
    jwks: JWKSVerifier | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> "Identity":
        jwks = None
        if settings.auth == "jwt":
            jwks = JWKSVerifier(settings.jwks_url or "", issuer=settings.jwt_issuer or "",
                                audience=settings.jwt_audience or "", leeway=settings.jwt_leeway,
                                cache_seconds=settings.jwks_cache_seconds,
                                refetch_interval=settings.jwks_refetch_interval)
            return cls(settings.auth, None, jwks)  # no BOOKCTL_SECRET_KEY needed: the provider signs
        return cls(settings.auth, signer_from_settings(settings), None)

    @property
    def issues_tokens(self) -> bool:
        """Whether bookctl issues its own tokens (token and header modes) or the identity provider does (jwt)."""
        return self.signer is not None and self.jwks is None

    def authenticate(self, session: Session, token: str) -> uuid.UUID:
        """The learner a bearer token belongs to (flushes a new user row in jwt mode; the caller commits)."""
        token = token.strip()
        if not token:
            raise AuthenticationError("missing bearer token", detail={"reason": "missing"})
        if self.jwks is not None:
            user_id = self.jwks.learner(token)
            ensure_user(session, user_id)
            return user_id
        return self._own_token_user(session, token, for_refresh=False)

    def _own_token_user(self, session: Session, token: str, *, for_refresh: bool) -> uuid.UUID:
        assert self.signer is not None  # token and header modes always have one
        claims = self.signer.verify(token, for_refresh=for_refresh)
        created = users.user_created_at(session, claims.user_id)  # NotFoundError: a user that does not exist
        if claims.user_created is None or claims.user_created != micros(created):
            raise AuthenticationError("invalid token: it was issued to an earlier user with this id",
                                      detail={"reason": "user_recreated"})
        return claims.user_id

    def refresh(self, session: Session, token: str) -> tuple[uuid.UUID, str, datetime]:
        """A new token for the holder of `token`, which may have expired up to the refresh window ago and may be
        signed with a previous key. Returns (user id, token, expires_at)."""
        if not self.issues_tokens:
            raise ValidationError("in jwt mode tokens come from the identity provider: get a new one there",
                                  detail={"mode": self.mode})
        user_id = self._own_token_user(session, token.strip(), for_refresh=True)
        created = users.user_created_at(session, user_id)
        new_token, expires_at = self.signer.issue(user_id, user_created=created)  # type: ignore[union-attr]
        return user_id, new_token, expires_at

    def issue(self, user_id: uuid.UUID, created_at: datetime) -> tuple[str | None, datetime | None]:
        """A token for a user (token/header modes); (None, None) in jwt mode, where the provider issues them."""
        if self.signer is None or not self.issues_tokens:
            return None, None
        return self.signer.issue(user_id, user_created=created_at)


def ensure_user(session: Session, user_id: uuid.UUID) -> None:
    """Create the user row on first sight (jwt mode); a concurrent creation is fine."""
    try:
        users.user_created_at(session, user_id)
        return
    except NotFoundError:
        pass  # first sight
    try:
        users.create_user(session, user_id)
    except ConflictError:
        pass  # created by a concurrent request: the row exists, which is all we need


def resolve_claims(authenticated: uuid.UUID | None, claimed: list[tuple[str, uuid.UUID | None]], *,
                   trust_claims: bool) -> uuid.UUID | None:
    """Reconcile the authenticated user with the ids a request names (X-User-ID, a path or body `user_id`).

    Every id named must be the same user, or the answer is 403. With a token, the token's user wins and the
    others must match it. Without one, `trust_claims` (header mode) takes the first named id; otherwise None.
    """
    named = [(where, value) for where, value in claimed if value is not None]
    reference = authenticated if authenticated is not None else (named[0][1] if named and trust_claims else None)
    if reference is None:
        return None
    for where, value in named:
        if value != reference:
            raise PermissionDeniedError(
                f"{where} does not match the caller's user" if authenticated is not None
                else f"{where} and {named[0][0]} name different users",
                detail={"field": where})
    return reference


def is_loopback(host: str) -> bool:
    """Whether binding `host` exposes the server only to this machine."""
    host = host.strip().strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


def check_bind(settings: Settings, host: str) -> None:
    """Header mode trusts any caller's X-User-ID: refuse to serve it beyond loopback unless explicitly allowed."""
    if settings.auth == "header" and not is_loopback(host) and not settings.allow_header_auth:
        raise ConfigError(f"BOOKCTL_AUTH=header trusts X-User-ID from anyone; refusing to listen on {host!r}, "
                          "which is not a loopback address. Use --host 127.0.0.1, or set BOOKCTL_ALLOW_HEADER_AUTH=1 "
                          "if this really is a private development network")


def warn_if_header_mode(mode: str) -> None:
    if mode == "header":
        log.warning("!" * 78)
        log.warning("BOOKCTL_AUTH=header: X-User-ID is TRUSTED WITHOUT A TOKEN. Anyone can act as any user.")
        log.warning("Use this only for local development of the frontend, never in production.")
        log.warning("!" * 78)
