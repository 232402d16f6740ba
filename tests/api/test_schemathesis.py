"""Schemathesis against a live server, with every check: 0 spec findings, not only 0 5xx (issue 11 item 15).

`schemathesis run --checks all` over HTTP on 127.0.0.1, on both dialects: besides server errors and response
schemas, it checks that schema-valid requests are accepted and schema-invalid ones refused, that documented
auth is enforced and public operations need none (`security: []`), that undocumented status codes, headers
and methods (`Allow`) do not appear, and it chains operations (stateful phase). The LLM is the local fake
OpenAI server, so POST /api/personalize answers rather than 503. Bounded: 20 cases per operation, a fixed
seed, no example database; ~30 s per dialect.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx

from tests.api.conftest import ONBOARDING, open_runtime
from tests.fakes.openai_server import FakeOpenAI, PersonalizeFake
from tests.live import LiveServer

MAX_EXAMPLES = 20


def test_schemathesis_finds_nothing_against_a_live_server(book_env, tmp_path: Path) -> None:
    from bookctl.api.app import create_app
    from bookctl.llm.generate import OpenAIGenerator

    runtime = open_runtime(book_env)
    try:
        with FakeOpenAI() as llm:
            llm.chat = PersonalizeFake()
            generator = OpenAIGenerator(model="gpt-4o-mini", base_url=llm.base_url, api_key="test", timeout=60)
            with LiveServer(create_app(runtime, generator=generator)) as server:
                token = httpx.post(server.url + "/api/user/create", json={}, timeout=30).json()["token"]
                auth = f"Bearer {token}"
                r = httpx.post(server.url + "/api/onboarding", json=ONBOARDING, headers={"Authorization": auth},
                               timeout=30)
                assert r.status_code == 200, r.text
                junit = tmp_path / "schemathesis.xml"
                run = subprocess.run(
                    [sys.executable, "-m", "schemathesis.cli", "run", server.url + "/schema/openapi.json",
                     "--checks", "all", "--header", f"Authorization: {auth}", "--max-examples", str(MAX_EXAMPLES),
                     "--seed", "1", "--generation-database", "none", "--workers", "1", "--request-timeout", "60",
                     "--no-color", "--report", "junit", "--report-junit-path", str(junit)],
                    capture_output=True, text=True, timeout=600, cwd=tmp_path)
    finally:
        runtime.close()
    output = run.stdout[-20000:] + run.stderr[-3000:]
    assert run.returncode == 0, output  # any finding of any check fails the run
    cases = ET.parse(junit).getroot().iter("testcase")
    operations = [case.get("name") for case in cases]
    assert len(operations) >= 20, (operations, output)  # every documented operation was exercised
    assert " passed" in output and "failure" not in output.split("SUMMARY")[-1].lower(), output
