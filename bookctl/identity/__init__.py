"""Identity: verify a bearer token for the configured mode and say which learner it is. Transport-free
(no web framework), so the API and the MCP server verify tokens with exactly the same code.

    from bookctl.identity import Identity
    identity = Identity.from_settings(settings)
    with runtime.session() as session:
        user_id = identity.authenticate(session, bearer_token)
"""

from bookctl.identity.jwks import JWKSVerifier, learner_id
from bookctl.identity.service import (
    Identity, check_bind, ensure_user, is_loopback, resolve_claims, warn_if_header_mode,
)
from bookctl.identity.tokens import TokenClaims, TokenSigner, load_secret_key, signer_from_settings

__all__ = ["Identity", "JWKSVerifier", "TokenClaims", "TokenSigner", "check_bind", "ensure_user", "is_loopback",
           "learner_id", "load_secret_key", "resolve_claims", "signer_from_settings", "warn_if_header_mode"]
