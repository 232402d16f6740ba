"""Verify the site's identity-provider JWTs (``BOOKCTL_AUTH=jwt``) against its JWKS, with PyJWT.

better-auth's JWT plugin (the book site's auth server) signs EdDSA/Ed25519 by default and serves its keys at
``<base>/api/auth/jwks``; any OIDC provider signing RS256 or ES256 works the same way.

- Only EdDSA, RS256 and ES256 are accepted, and only the algorithm of the key the `kid` names: ``alg: none`` and
  every HS* token are refused before any key is used (a public key is never used as an HMAC secret).
- `iss` and `aud` must be the configured ones; `exp`, `iat` and `sub` are required; `nbf` is honoured;
  `leeway` seconds of clock skew are allowed.
- Keys: PyJWKClient fetches and parses the JWKS; this module decides WHEN. The key set is re-read after
  `cache_seconds`; a token naming an unknown `kid` triggers a refetch, but at most one per `refetch_interval`
  (random kids cannot make us hammer the provider). When a fetch fails the last good key set is kept, so tokens
  signed with a cached key keep working while the provider is down; a token whose key we cannot know because the
  provider is down is a 503 (ServiceUnavailableError), never a 500 and never a guess.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any, Callable

import jwt
from jwt import PyJWK, PyJWKClient

from bookctl.errors import AuthenticationError, IdentityProviderUnavailableError

log = logging.getLogger("bookctl.identity")

ALGORITHMS = ("EdDSA", "RS256", "ES256")
#: learner ids for providers whose `sub` is not a UUID (better-auth's ids are random strings)
SUBJECT_NAMESPACE = uuid.UUID("7f1c3a52-52b6-4c55-9a7e-3d0f3b1e8a10")


def learner_id(issuer: str, subject: str) -> uuid.UUID:
    """The bookctl user id of a provider's subject: the `sub` itself when it is a UUID, else a stable UUIDv5 of
    (issuer, sub), so the same person always maps to the same learner and two providers never collide."""
    try:
        return uuid.UUID(subject)
    except ValueError:
        return uuid.uuid5(SUBJECT_NAMESPACE, f"{issuer}|{subject}")


class JWKSVerifier:
    """Thread-safe; one per process (the API builds it once; the MCP server reuses the same class)."""

    def __init__(self, url: str, *, issuer: str, audience: str, leeway: int = 30, cache_seconds: float = 300.0,
                 refetch_interval: float = 30.0, timeout: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.cache_seconds = cache_seconds
        self.refetch_interval = refetch_interval
        self._client = PyJWKClient(url, cache_jwk_set=False, cache_keys=False, timeout=timeout)
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last attempt, successful or not
        self._last_error: str | None = None
        self.fetches = 0  # attempts, for tests and metrics

    # ------------------------------------------------------------------ keys

    def _fetch(self, now: float) -> None:
        self._attempted_at = now
        self.fetches += 1
        try:
            keys = self._client.get_signing_keys(refresh=True)
        except Exception as exc:  # noqa: BLE001 - connection, HTTP, JSON or "no signing keys": all "unavailable"
            self._last_error = f"{type(exc).__name__}: {exc}"[:300]
            log.warning("JWKS fetch from %s failed: %s (keeping %d cached keys)", self.url, self._last_error,
                        len(self._keys))
            return
        self._keys = {k.key_id: k for k in keys if k.key_id}
        self._fetched_at = now
        self._last_error = None

    def _due(self, since: float | None, now: float, interval: float) -> bool:
        return since is None or now - since >= interval

    def key_for(self, kid: str) -> PyJWK:
        with self._lock:
            now = self._clock()
            fetched_now = False
            if self._due(self._fetched_at, now, self.cache_seconds) and \
                    self._due(self._attempted_at, now, self.refetch_interval if self._fetched_at else 0.0):
                self._fetch(now)
                fetched_now = True
            key = self._keys.get(kid)
            if key is None and not fetched_now and self._due(self._attempted_at, now, self.refetch_interval):
                self._fetch(now)  # an unknown kid: the provider may have rotated its key
                key = self._keys.get(kid)
            if key is not None:
                return key
            if self._last_error is not None:
                raise IdentityProviderUnavailableError(
                    "the identity provider's JWKS cannot be fetched, so this token cannot be verified now",
                    detail={"retry_after": max(1, int(self.refetch_interval)), "reason": "jwks_unavailable"})
            raise AuthenticationError("invalid token: unknown signing key (kid)", detail={"reason": "unknown_kid"})

    # ------------------------------------------------------------------ tokens

    def verify(self, token: str) -> dict[str, Any]:
        """The verified claims of `token`; AuthenticationError (401) for every forged, expired, not-yet-valid,
        wrongly addressed or malformed token; IdentityProviderUnavailableError (503) when the key is unknowable."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthenticationError("invalid token: malformed", detail={"reason": "malformed"}) from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise AuthenticationError(f"invalid token: algorithm {str(alg)[:20]!r} is not accepted "
                                      f"(allowed: {', '.join(ALGORITHMS)})", detail={"reason": "algorithm"})
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthenticationError("invalid token: no key id (kid) in its header", detail={"reason": "no_kid"})
        key = self.key_for(kid)
        if key.algorithm_name != alg:
            raise AuthenticationError(f"invalid token: key {kid[:40]!r} is not an {alg} key",
                                      detail={"reason": "algorithm"})
        try:
            return jwt.decode(token, key.key, algorithms=[alg], issuer=self.issuer, audience=self.audience,
                              leeway=self.leeway, options={"require": ["exp", "iat", "sub", "iss", "aud"]})
        except jwt.ExpiredSignatureError:
            raise AuthenticationError("token expired: get a new one from the identity provider",
                                      detail={"expired": True, "reason": "expired"}) from None
        except jwt.ImmatureSignatureError:
            raise AuthenticationError("invalid token: not yet valid (nbf/iat in the future)",
                                      detail={"reason": "not_yet_valid"}) from None
        except jwt.InvalidIssuerError:
            raise AuthenticationError("invalid token: wrong issuer", detail={"reason": "issuer"}) from None
        except jwt.InvalidAudienceError:
            raise AuthenticationError("invalid token: wrong audience", detail={"reason": "audience"}) from None
        except jwt.InvalidSignatureError:
            raise AuthenticationError("invalid token: bad signature", detail={"reason": "signature"}) from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthenticationError(f"invalid token: {exc}", detail={"reason": "missing_claim"}) from None
        except jwt.PyJWTError:
            raise AuthenticationError("invalid token: malformed", detail={"reason": "malformed"}) from None

    def learner(self, token: str) -> uuid.UUID:
        claims = self.verify(token)
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject.strip():
            raise AuthenticationError("invalid token: empty subject", detail={"reason": "missing_claim"})
        return learner_id(self.issuer, subject)
