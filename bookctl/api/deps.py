"""Annotated names of the app-wide dependencies (Litestar 2.23+ wants them marked explicitly).

    def handler(self, runtime: RuntimeDep, current_user_id: CurrentUserId, content: Content) -> ...

The parameter NAME selects the dependency (`runtime`, `current_user_id`, `content`, `signer`, `embedder`,
`generator`); these aliases only mark it as one.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar.di import NamedDependency

from bookctl.api.auth import TokenSigner
from bookctl.content.service import ContentService
from bookctl.runtime import Runtime

RuntimeDep = NamedDependency[Runtime]
CurrentUserId = NamedDependency[uuid.UUID]
Content = NamedDependency[ContentService]
Signer = NamedDependency[TokenSigner]
Injected = NamedDependency[Any]  # embedder, generator, personalization
