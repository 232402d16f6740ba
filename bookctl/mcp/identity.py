"""Who is calling a learner tool: the API's own bearer verification, over any MCP transport.

- Over HTTP (streamable HTTP, SSE, the API's /mcp mount) the `Authorization: Bearer <token>` header of the
  MCP request is verified by the very function the API's `current_user_id` uses. No header means anonymous:
  the book tools still answer, the learner tools give a tool error.
- Over stdio there are no headers: the learner is the one named by the token in `BOOKCTL_MCP_USER_TOKEN`
  (a personal setup: one assistant, one learner). It is verified on every call, so an expired token fails.
- A user id passed as a tool argument is never trusted: no learner tool takes one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bookctl.errors import AuthenticationError

Verify = Callable[[str], uuid.UUID]  # token -> user id, AuthenticationError when invalid


@dataclass(frozen=True)
class Identity:
    verify: Verify
    stdio_token: str | None = None  # BOOKCTL_MCP_USER_TOKEN; used only when the transport has no headers

    def user_id(self, headers: Mapping[str, str] | None) -> uuid.UUID:
        """The verified learner behind this request; AuthenticationError (a tool error) otherwise."""
        if headers is None:  # stdio (or in-process): the configured personal token, if any
            if not self.stdio_token:
                raise AuthenticationError("this tool needs a learner: set BOOKCTL_MCP_USER_TOKEN to your bearer token "
                                          "(from POST /api/user/create) in the MCP server's environment")
            return self.verify(self.stdio_token)
        authorization = _header(headers, "authorization")
        if not authorization:
            raise AuthenticationError("this tool needs a learner: send 'Authorization: Bearer <token>' "
                                      "(from POST /api/user/create) with the MCP requests")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError("Authorization must be 'Bearer <token>'")
        return self.verify(token.strip())


def bearer_verifier(identity, runtime) -> Verify:
    """The API's verification (`bookctl.identity.Identity`: token or jwt mode) as a token -> user id function.
    In jwt mode a learner seen for the first time gets their user row, as over the API."""

    def verify(token: str) -> uuid.UUID:
        with runtime.session() as session:
            return identity.authenticate(session, token)

    return verify


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:  # a plain dict is case-sensitive; Starlette's Headers are not
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value
