"""Authentication: signed bearer tokens, and the `current_user_id` dependency every user-scoped handler uses.

Token format (no third-party dependency): ``base64url(payload_json) + "." + base64url(HMAC-SHA256(key, payload))``
with payload ``{"sub": "<user uuid>", "iat": <unix>, "exp": <unix>, "v": 1}``. Tokens are verified in
constant time; an expired, forged or malformed token is a 401.

Modes (``BOOKCTL_AUTH``):
- ``token`` (default): ``Authorization: Bearer <token>`` is required. ``X-User-ID``, when also sent, must be
  the token's user (else 403).
- ``header`` (local development of the existing frontend only): ``X-User-ID`` is trusted as is. A loud
  warning is logged at start-up.

Using it in a handler (any controller added to the app)::

    @get("/mine", sync_to_thread=True)
    def mine(self, current_user_id: uuid.UUID, runtime: Runtime) -> ...:
        ...

`current_user_id` is registered app-wide in `create_app`, so a handler only names the parameter.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

from litestar import Request
from litestar.params import HeaderParameter

from bookctl.config import Settings
from bookctl.errors import AuthenticationError, ConfigError, PermissionDeniedError, ValidationError

log = logging.getLogger("bookctl.api.auth")

MIN_KEY_LENGTH = 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class TokenSigner:
    key: bytes
    ttl: int

    def issue(self, user_id: uuid.UUID, *, now: float | None = None, ttl: int | None = None) -> tuple[str, datetime]:
        issued = int(time.time() if now is None else now)
        expires = issued + (self.ttl if ttl is None else ttl)
        payload = json.dumps({"sub": str(user_id), "iat": issued, "exp": expires, "v": 1},
                             separators=(",", ":")).encode()
        body = _b64(payload)
        sig = _b64(hmac.new(self.key, body.encode("ascii"), hashlib.sha256).digest())
        return f"{body}.{sig}", datetime.fromtimestamp(expires, tz=timezone.utc)

    def verify(self, token: str, *, now: float | None = None) -> uuid.UUID:
        """The token's user id; AuthenticationError if it is malformed, forged or expired."""
        try:
            body, sig = token.split(".")
            expected = hmac.new(self.key, body.encode("ascii"), hashlib.sha256).digest()
            if not hmac.compare_digest(expected, _unb64(sig)):
                raise AuthenticationError("invalid token: bad signature")
            payload = json.loads(_unb64(body))
            user_id = uuid.UUID(payload["sub"])
            expires = int(payload["exp"])
        except AuthenticationError:
            raise
        except Exception:  # noqa: BLE001 - any malformed token is the same 401
            raise AuthenticationError("invalid token: malformed") from None
        if (time.time() if now is None else now) >= expires:
            raise AuthenticationError("token expired: create a new user session", detail={"expired": True})
        return user_id


def load_secret_key(settings: Settings) -> bytes:
    """`BOOKCTL_SECRET_KEY`, or for the embedded default a key generated once into <data_dir>/secret_key (0600).

    The key is never logged.
    """
    if settings.secret_key:
        if len(settings.secret_key) < MIN_KEY_LENGTH:
            raise ConfigError(f"BOOKCTL_SECRET_KEY must be at least {MIN_KEY_LENGTH} characters long")
        return settings.secret_key.encode()
    if not settings.is_embedded_db:
        raise ConfigError("BOOKCTL_SECRET_KEY must be set when BOOKCTL_DATABASE_URL is not the embedded default "
                          "(e.g. BOOKCTL_SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(48))'))")
    path = Path(settings.data_dir) / "secret_key"
    if not path.exists():
        _create_key_file(path)
    key = path.read_text().strip()
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigError(f"{path} holds a signing key that is too short; delete it to generate a new one")
    return key.encode()


def _create_key_file(path: Path) -> None:
    """Write a new key whole into a private temp file, then link it into place: the file appears complete or
    not at all, so a process racing this one never reads it empty. If another process linked first, its
    key wins and every process reads that one back."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".secret_key.", dir=path.parent)  # created 0600
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(temp, path)  # atomic, and fails if the key already exists (unlike rename)
        except FileExistsError:
            pass
    finally:
        os.unlink(temp)


def _parse_user_header(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        raise ValidationError("X-User-ID must be a UUID", detail={"field": "X-User-ID", "value": value[:64]}) from None


def make_current_user_provider(signer: TokenSigner, mode: str):
    """Build the `current_user_id` dependency for one app (mode: token | header)."""

    async def current_user_id(
        request: Request,
        x_user_id: Annotated[str | None, HeaderParameter(name="X-User-ID", required=False,
                                                         description="Optional; must match the bearer token's user")]
        = None,
    ) -> uuid.UUID:
        header_user = _parse_user_header(x_user_id) if x_user_id else None
        authorization = request.headers.get("authorization")
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise AuthenticationError("Authorization must be 'Bearer <token>'")
            user_id = signer.verify(token.strip())
            if header_user is not None and header_user != user_id:
                raise PermissionDeniedError("X-User-ID does not match the bearer token's user",
                                            detail={"field": "X-User-ID"})
            return user_id
        if mode == "header" and header_user is not None:
            return header_user
        raise AuthenticationError("missing bearer token: send 'Authorization: Bearer <token>' "
                                  "(from POST /api/user/create)")

    return current_user_id


def require_same_user(current_user_id: uuid.UUID, requested: uuid.UUID) -> None:
    if current_user_id != requested:
        raise PermissionDeniedError("you can only access your own user", detail={"user_id": str(requested)})


def warn_if_header_mode(mode: str) -> None:
    if mode == "header":
        log.warning("!" * 78)
        log.warning("BOOKCTL_AUTH=header: X-User-ID is TRUSTED WITHOUT A TOKEN. Anyone can act as any user.")
        log.warning("Use this only for local development of the frontend, never in production.")
        log.warning("!" * 78)
