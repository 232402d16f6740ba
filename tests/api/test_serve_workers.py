"""`bookctl serve --workers 2`: real worker processes behind one port share settings, database and signing key."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx

from tests.conftest import Workspace
from tests.live import free_port


def test_tokens_work_on_every_worker(workspace: Workspace) -> None:
    assert workspace.run("sync").code == 0
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "bookctl", "serve", "--workers", "2", "--port", str(port),
                             "--no-access-log", "--log-level", "warning"],
                            env=workspace.subprocess_env(), cwd=workspace.root,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.1)
        # the embedded signing key was generated once, before the workers started: any worker accepts any token
        tokens = [httpx.post(base + "/api/user/create", json={}).json()["token"] for _ in range(6)]
        codes = {httpx.get(base + "/api/progress", headers={"Authorization": f"Bearer {t}"}).status_code
                 for t in tokens for _ in range(5)}
        assert codes == {200}
    finally:
        proc.terminate()
        proc.wait(timeout=15)
