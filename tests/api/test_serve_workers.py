"""`bookctl serve --workers 2`: real worker processes behind one port share settings, database and signing key."""

from __future__ import annotations

import httpx

from tests.conftest import Workspace
from tests.live import bookctl_serve


def test_tokens_work_on_every_worker(workspace: Workspace) -> None:
    assert workspace.run("sync").code == 0
    with bookctl_serve(workspace.subprocess_env(), workspace.root, workers=2, timeout=120) as base:  # spawned workers: slow on a busy box
        # the embedded signing key was generated once, before the workers started: any worker accepts any token
        tokens = [httpx.post(base + "/api/user/create", json={}).json()["token"] for _ in range(6)]
        codes = {httpx.get(base + "/api/progress", headers={"Authorization": f"Bearer {t}"}).status_code
                 for t in tokens for _ in range(5)}
        assert codes == {200}
