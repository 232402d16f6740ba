"""bookctl's own bearer tokens (``BOOKCTL_AUTH=token``): standard JWTs, HS256, signed with PyJWT.

Header ``{"alg": "HS256", "typ": "JWT", "kid": "<key id>"}``; claims
``{"iss": "bookctl", "sub": "<user uuid>", "iat", "exp", "uct": <the user's creation time, µs since the epoch>}``.

- Key rotation: the key id is derived from the key itself (a hash prefix, never the key), so rotating is
  "put the new key in BOOKCTL_SECRET_KEY, move the old one to BOOKCTL_PREVIOUS_SECRET_KEYS". New tokens are signed
  with the current key only; tokens signed with a previous key keep verifying until they expire (drop the old key
  after BOOKCTL_TOKEN_TTL + BOOKCTL_TOKEN_REFRESH_WINDOW).
- ``uct`` binds a token to one life of its user: a user deleted and re-created under the same client-chosen UUID
  has a new creation time, so the old token does not come back to life (checked in `bookctl.identity.service`).
- Only HS256 is accepted here; ``alg: none`` or any other algorithm is a 401.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Sequence

import jwt

from bookctl.config import Settings
from bookctl.errors import AuthenticationError, ConfigError

ISSUER = "bookctl"
ALGORITHM = "HS256"
MIN_KEY_LENGTH = 32
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def key_id(key: bytes) -> str:
    """A public name for a key: a hash prefix (the key cannot be recovered from it)."""
    return "k" + hashlib.sha256(b"bookctl-kid:" + key).hexdigest()[:15]


def micros(moment: datetime) -> int:
    """A datetime as whole microseconds since the epoch (exact: no float rounding). Naive means UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - _EPOCH) // timedelta(microseconds=1)


@dataclass(frozen=True)
class TokenClaims:
    user_id: uuid.UUID
    user_created: int | None  # `uct`; None only for tokens that do not carry it (then the token is refused)
    expires: int
    kid: str


@dataclass(frozen=True)
class TokenSigner:
    """Issues and verifies bookctl's tokens. `keys[0]` signs; every key verifies."""

    keys: Sequence[bytes] | bytes
    ttl: int
    refresh_window: int = 30 * 24 * 3600
    _by_kid: dict[str, bytes] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys = [self.keys] if isinstance(self.keys, (bytes, bytearray)) else list(self.keys)
        if not keys:
            raise ConfigError("no token signing key")
        object.__setattr__(self, "keys", tuple(bytes(k) for k in keys))
        object.__setattr__(self, "_by_kid", {key_id(k): bytes(k) for k in keys})

    @property
    def current_kid(self) -> str:
        return key_id(self.keys[0])  # type: ignore[index]

    def issue(self, user_id: uuid.UUID, *, user_created: datetime | int | None = None, now: float | None = None,
              ttl: int | None = None) -> tuple[str, datetime]:
        issued = int(time.time() if now is None else now)
        expires = issued + (self.ttl if ttl is None else ttl)
        claims: dict[str, object] = {"iss": ISSUER, "sub": str(user_id), "iat": issued, "exp": expires}
        if user_created is not None:
            claims["uct"] = user_created if isinstance(user_created, int) else micros(user_created)
        token = jwt.encode(claims, self.keys[0], algorithm=ALGORITHM,  # type: ignore[index]
                           headers={"kid": self.current_kid})
        return token, datetime.fromtimestamp(expires, tz=timezone.utc)

    def verify(self, token: str, *, now: float | None = None, for_refresh: bool = False) -> TokenClaims:
        """The token's claims; AuthenticationError (401) if it is malformed, forged, expired or signed with a key
        no longer accepted. With `for_refresh`, an expired token is accepted up to `refresh_window` seconds after
        its expiry (the signature, issuer and key are still checked)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthenticationError("invalid token: malformed", detail={"reason": "malformed"}) from None
        if header.get("alg") != ALGORITHM:
            raise AuthenticationError(f"invalid token: algorithm {str(header.get('alg'))[:20]!r} is not accepted",
                                      detail={"reason": "algorithm"})
        kid = header.get("kid")
        key = self._by_kid.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise AuthenticationError("invalid token: signed with an unknown or retired key",
                                      detail={"reason": "unknown_kid"})
        at = time.time() if now is None else now
        try:
            claims = jwt.decode(token, key, algorithms=[ALGORITHM], issuer=ISSUER,
                                options={"require": ["exp", "iat", "sub", "iss"], "verify_exp": False})
            user_id = uuid.UUID(str(claims["sub"]))
            expires = int(claims["exp"])
            created = claims.get("uct")
            created = int(created) if created is not None else None
        except jwt.InvalidSignatureError:
            raise AuthenticationError("invalid token: bad signature", detail={"reason": "signature"}) from None
        except jwt.InvalidIssuerError:
            raise AuthenticationError("invalid token: not issued by bookctl", detail={"reason": "issuer"}) from None
        except (jwt.PyJWTError, ValueError, TypeError):
            raise AuthenticationError("invalid token: malformed", detail={"reason": "malformed"}) from None
        limit = expires + (self.refresh_window if for_refresh else 0)
        if at >= limit:
            message = ("token expired: refresh it with POST /api/user/token/refresh" if not for_refresh
                       else "token expired too long ago to be refreshed: create a new user session")
            raise AuthenticationError(message, detail={"expired": True, "reason": "expired"})
        return TokenClaims(user_id, created, expires, kid)


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
    import tempfile

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


def signer_from_settings(settings: Settings) -> TokenSigner:
    previous = []
    for i, key in enumerate(settings.previous_secret_keys):
        if len(key) < MIN_KEY_LENGTH:
            raise ConfigError(f"BOOKCTL_PREVIOUS_SECRET_KEYS: key {i + 1} must be at least {MIN_KEY_LENGTH} "
                              "characters long")
        previous.append(key.encode())
    return TokenSigner([load_secret_key(settings), *previous], settings.token_ttl, settings.token_refresh_window)
