"""Editors in jwt mode: a JWT from the site's identity provider is an editor credential when it carries the
editor claim (``BOOKCTL_EDITOR_CLAIM``, default ``roles=editor``). Transport-free, like the rest of identity.

The token is verified exactly as a learner's is (`JWKSVerifier.verify`: signature, algorithm, issuer, audience,
expiry); the claim is then one more rule on the verified claims:

- ``name=value``: the claim `name` equals `value`, or is a list holding it, or a string listing it among
  comma- or space-separated words (OAuth's `scope`, better-auth's admin plugin `role: "admin,editor"`);
- a dotted name reaches into nested claims (Keycloak's ``realm_access.roles=editor``).

A valid learner token without the claim is a PermissionDeniedError (403), never an editor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bookctl.errors import ConfigError, PermissionDeniedError
from bookctl.identity.jwks import JWKSVerifier

_SPEC = re.compile(r"^([A-Za-z_][\w:-]*(?:\.[A-Za-z_][\w:-]*)*)=([^\s,]+)$")
_WORDS = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class EditorClaim:
    path: tuple[str, ...]
    value: str

    @classmethod
    def parse(cls, spec: str, source: str = "BOOKCTL_EDITOR_CLAIM") -> "EditorClaim":
        match = _SPEC.match((spec or "").strip())
        if match is None:
            raise ConfigError(f"{source} must look like claim=value (e.g. roles=editor, or "
                              f"realm_access.roles=editor for a nested claim); got {spec!r}")
        return cls(tuple(match.group(1).split(".")), match.group(2))

    def __str__(self) -> str:
        return f"{'.'.join(self.path)}={self.value}"

    def grants(self, claims: dict[str, Any]) -> bool:
        found: Any = claims
        for part in self.path:
            if not isinstance(found, dict) or part not in found:
                return False
            found = found[part]
        if isinstance(found, str):
            return self.value in _WORDS.split(found.strip())
        if isinstance(found, (list, tuple)):
            return any(isinstance(item, str) and item == self.value for item in found)
        return False


def editor_name(claims: dict[str, Any]) -> str:
    """Who to record as the reviewer: the token's email, else username, else name, else subject (an address
    names one person; two editors may share a display name)."""
    for key in ("email", "preferred_username", "name", "sub"):
        value = claims.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:120]
    return "editor"


@dataclass(frozen=True)
class JwtEditors:
    """Verifies an identity-provider JWT and requires the editor claim. Returns (reviewer name, expiry)."""

    verifier: JWKSVerifier
    claim: EditorClaim

    def editor(self, token: str) -> tuple[str, int]:
        """AuthenticationError (401) for a bad token, PermissionDeniedError (403) for a valid one without the
        claim, IdentityProviderUnavailableError (503) when its key cannot be fetched."""
        claims = self.verifier.verify(token.strip())
        if not self.claim.grants(claims):
            raise PermissionDeniedError(f"this token is not an editor's: it lacks the claim {self.claim}",
                                        detail={"reason": "not_editor", "claim": str(self.claim)})
        return editor_name(claims), int(claims["exp"])
