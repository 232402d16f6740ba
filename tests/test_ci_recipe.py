"""The CI recipe in docs/ci.md, run for real (not on the CI service): every command of every step, in a
workspace holding the bundled book, with the secrets replaced by a local database, store and OpenAI fake.

Only the steps that install bookctl are not run (the test's own virtualenv stands in for them)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import xmlschema
import yaml

from tests.conftest import REPO, SAMPLE_BOOK

DOC = REPO / "docs" / "ci.md"
SCHEMA = xmlschema.XMLSchema(Path(__file__).parent / "data" / "junit.xsd")
PID = "curriculum/docs/02-Motors-and-Control/04-pid-control"


def recipes() -> tuple[dict, dict]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) == 2, "docs/ci.md should hold the GitHub workflow and the GitLab CI file"
    return yaml.safe_load(blocks[0]), yaml.safe_load(blocks[1])


class Runner:
    def __init__(self, root: Path, secrets: dict[str, str]) -> None:
        self.root, self.secrets = root, secrets
        self.summary = root / "step-summary.md"
        self.summary.touch()

    def env(self, *layers: dict) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BOOKCTL_", "OPENAI_"))}
        env.update({
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "GITHUB_STEP_SUMMARY": str(self.summary), "GITHUB_WORKSPACE": str(self.root),
            "CI_PROJECT_DIR": str(self.root), "GITHUB_PATH": str(self.root / "github-path"),
            "BOOKCTL_DATA_DIR": str(self.root / ".bookctl"), "BOOKCTL_LOCK_TIMEOUT": "10",
        })
        env.update(self.secrets)  # e.g. OPENAI_BASE_URL, which the recipe's secrets table mentions
        for layer in layers:
            for key, value in (layer or {}).items():
                env[key] = re.sub(r"\$\{\{\s*secrets\.(\w+)\s*\}\}", lambda m: self.secrets.get(m[1], ""), str(value))
        return env

    def sh(self, script: str, env: dict[str, str]) -> str:
        done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=self.root, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{script}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        return done.stdout

    def github_job(self, workflow: dict, name: str) -> dict[str, str]:
        job = workflow["jobs"][name]
        env = self.env(workflow.get("env"), job.get("env"))
        out = {}
        for step in job["steps"]:
            if "run" not in step or step.get("name") == "Install bookctl":
                continue
            out[step["name"]] = self.sh(step["run"], env)
        assert out, f"job {name} ran no step"
        return out

    def gitlab_job(self, pipeline: dict, name: str) -> None:
        env = self.env(pipeline.get("variables"))
        for line in pipeline[name]["script"]:
            self.sh(line, env)


@pytest.fixture
def runner(tmp_path: Path, fake_openai) -> Runner:
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copytree(SAMPLE_BOOK, root / "curriculum")
    return Runner(root, {
        "BOOKCTL_DATABASE_URL": f"sqlite:///{tmp_path / 'book.db'}",
        "BOOKCTL_STORAGE_URL": f"file://{tmp_path / 'store'}",
        "OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": fake_openai.base_url,
        # The recipe works with either embedder; the OpenAI fake keeps this test fast on a busy 2-core machine
        # (the local model's embed path is covered by tests/search).
        "BOOKCTL_EMBEDDINGS": "openai:text-embedding-3-small",
    })


def test_github_workflow_publishes_then_plans_a_renamed_lesson(runner: Runner) -> None:
    workflow, _gitlab = recipes()
    assert set(workflow["jobs"]) == {"plan", "publish"}
    runner.github_job(workflow, "publish")
    summary = runner.summary.read_text(encoding="utf-8")
    assert "### bookctl sync result" in summary and "| 23 | 0 | 0 | 0 | 21 |" in summary
    assert json.loads((runner.root / "redirects.json").read_text()) == {"redirects": []}

    # The pull request: one lesson renamed.
    (runner.root / PID / "02-lesson-pid-controller.md").rename(runner.root / PID / "02-lesson-pid-step-by-step.md")
    runner.summary.write_text("")
    steps = runner.github_job(workflow, "plan")
    assert [line.split(" ", 1)[0] for line in steps["Check the book"].splitlines()] == ["::notice"]  # annotates nothing
    plan = steps["Plan the sync"].splitlines()
    assert [line.split(" ", 1)[0] for line in plan] == ["::warning", "::notice"]
    assert "moved: /docs/Motors-and-Control/pid-control/lesson-pid-controller -> " \
           "/docs/Motors-and-Control/pid-control/lesson-pid-step-by-step" in plan[0]
    assert f"file={PID}/02-lesson-pid-step-by-step.md" in plan[0]
    summary = runner.summary.read_text(encoding="utf-8")
    assert "### bookctl sync plan" in summary and "**Moved URLs**" in summary and "### bookctl embed plan" in summary

    # The merge: the old URL is kept working by the redirect map.
    runner.github_job(workflow, "publish")
    redirects = json.loads((runner.root / "redirects.json").read_text())
    assert redirects == {"redirects": [{"from": ["/docs/Motors-and-Control/pid-control/lesson-pid-controller"],
                                        "to": "/docs/Motors-and-Control/pid-control/lesson-pid-step-by-step"}]}


def test_gitlab_jobs_run_and_write_valid_junit(runner: Runner) -> None:
    _github, pipeline = recipes()
    runner.gitlab_job(pipeline, "book-publish")
    (runner.root / PID / "02-lesson-pid-controller.md").rename(runner.root / PID / "02-lesson-pid-step-by-step.md")
    runner.gitlab_job(pipeline, "book-plan")
    for report in ("check.xml", "plan.xml"):
        SCHEMA.validate(str(runner.root / report))
    assert "**Moved URLs**" in (runner.root / "plan.md").read_text(encoding="utf-8")
    # A removed lesson fails the plan job (--fail-on removed), with the failure in its JUnit report.
    (runner.root / PID / "02-lesson-pid-step-by-step.md").unlink()
    with pytest.raises(AssertionError, match="--fail-on removed"):
        runner.gitlab_job(pipeline, "book-plan")
    plan = (runner.root / "plan.xml").read_text(encoding="utf-8")
    SCHEMA.validate(plan)
    assert "<failure" in plan and "removed: /docs/Motors-and-Control/pid-control/lesson-pid-controller" in plan
