"""Annotated names of the app-wide dependencies (Litestar 2.23+ wants them marked explicitly).

    def handler(self, runtime: RuntimeDep, current_user_id: CurrentUserId, content: Content) -> ...

The parameter NAME selects the dependency (`runtime`, `current_user_id`, `content`, `signer`, `embedder`,
`generator`, `identity`, `caller`); these aliases only mark it as one.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar.di import NamedDependency

from bookctl.api.auth import Caller
from bookctl.identity import Identity, TokenSigner
from bookctl.content.service import ContentService
from bookctl.runtime import Runtime

RuntimeDep = NamedDependency[Runtime]
CurrentUserId = NamedDependency[uuid.UUID]
Content = NamedDependency[ContentService]
Signer = NamedDependency[TokenSigner]
IdentityDep = NamedDependency[Identity]
CallerDep = NamedDependency[Caller]

#: the OpenAPI security requirement of user-scoped operations (public ones declare none)
BEARER = [{"BearerToken": []}]
Injected = NamedDependency[Any]  # embedder, generator, personalization
