"""While a sync runs (and when one is killed), a poller on the content API never gets a body whose hash differs
from the one its row records: objects are immutable and the row switches to the new one at the commit."""

from __future__ import annotations

import hashlib
import signal
import threading
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from bookctl.config import load_settings
from bookctl.content.service import ContentService
from bookctl.curriculum.frontmatter import strip_front_matter
from bookctl.runtime import Runtime
from tests.conftest import make_workspace
from tests.live import LiveServer
from tests.storeutil import open_backend
from tests.test_crash import cli_sync, run_driver

CH1 = "docs/01-Physical-AI-Foundations/01-what-is-physical-ai"
LESSONS = {  # slug -> file
    "what-is-physical-ai/lesson-digital-vs-physical-ai": f"{CH1}/01-lesson-digital-vs-physical-ai.md",
    "what-is-physical-ai/lesson-embodiment-hypothesis": f"{CH1}/02-lesson-embodiment-hypothesis.md",
    "what-is-physical-ai/lesson-real-world-constraints": f"{CH1}/03-lesson-real-world-constraints.md",
}


@pytest.mark.parametrize("name", ["file", "s3", "mcp-http"])
def test_poller_never_sees_a_body_its_row_does_not_record(tmp_path: Path, fixture_book: Path, name: str,
                                                          monkeypatch) -> None:
    with ExitStack() as stack:
        backend = open_backend(name, tmp_path, stack)
        ws = make_workspace(tmp_path / "ws", fixture_book)
        ws.env.update(backend.env)
        for key, value in ws.env.items():
            monkeypatch.setenv(key, value)
        cli_sync(ws)
        runtime = Runtime.open(load_settings())
        stack.callback(runtime.close)
        expected: dict[str, str] = {}  # content hash -> the markdown the API must serve for it

        def remember() -> None:
            for rel in LESSONS.values():
                stored = runtime.store.stored_form((ws.book / rel).read_bytes())
                expected[hashlib.sha256(stored).hexdigest()] = strip_front_matter(stored.decode())

        remember()
        server = stack.enter_context(LiveServer(__import__("bookctl.api.app", fromlist=["create_app"]).create_app(
            runtime, content=ContentService(runtime, ttl=0.0))))
        seen: list[tuple[int, str | None, bool]] = []
        stop = threading.Event()

        def poll() -> None:
            with httpx.Client(base_url=server.url, timeout=10) as client:
                while not stop.is_set():
                    for slug in LESSONS:
                        response = client.get(f"/api/content/lessons/{slug}/content")
                        if response.status_code == 200:
                            body = response.json()
                            seen.append((200, body["content_hash"],
                                         expected.get(body["content_hash"]) == body["content"]))
                        else:
                            seen.append((response.status_code, None, False))

        poller = threading.Thread(target=poll, daemon=True)
        for round_, mode in enumerate([("slow", str(tmp_path / "log")), ("kill-before-commit",),
                                       ("kill-after-commit",), ("kill-in-sweep",)]):
            for rel in LESSONS.values():  # a new version of each polled lesson
                path = ws.book / rel
                path.write_bytes(path.read_bytes() + f"\nRevision {round_}.\n".encode())
            remember()
            if round_ == 0:
                poller.start()
            result = run_driver(ws, *mode)
            assert result.returncode == (0 if mode[0] == "slow" else -signal.SIGKILL), result.stderr
        cli_sync(ws)  # the run after the kills converges
        served_before_stop = len(seen)
        stop.set()
        poller.join(timeout=30)
        assert served_before_stop > 20  # the poller really ran during the syncs
        wrong = [s for s in seen if s[0] == 200 and not s[2]]
        assert wrong == []  # never a body whose hash differs from the row's
        assert [s for s in seen if s[0] != 200] == []  # and never a failure: a stale snapshot is refreshed
        final = httpx.get(f"{server.url}/api/content/lessons/{next(iter(LESSONS))}/content").json()
        last = runtime.store.stored_form((ws.book / next(iter(LESSONS.values()))).read_bytes())
        assert final["content_hash"] == hashlib.sha256(last).hexdigest()
