"""`--format text|json|github|junit|markdown` on check, sync --dry-run, embed --dry-run and status (issue 16).

Golden outputs on the bundled book and on a broken one (tests/data/golden/; regenerate with
BOOKCTL_UPDATE_GOLDEN=1 and review the diff). GitHub lines are parsed back with the runner's syntax,
JUnit is validated against tests/data/junit.xsd.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
import xmlschema

from bookctl.reporting.findings import Finding
from bookctl.reporting.github import annotation, escape_data, escape_property
from tests.conftest import SAMPLE_BOOK, Workspace, make_workspace

DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "golden"
SCHEMA = xmlschema.XMLSchema(DATA / "junit.xsd")
CHAPTER = "docs/02-Motors-and-Control/03-driving-motors"
PID = "docs/02-Motors-and-Control/04-pid-control"


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("BOOKCTL_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"no golden file {path}: run with BOOKCTL_UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text(encoding="utf-8")


# ---------------------------------------------------------------- GitHub's workflow-command syntax

COMMAND = re.compile(r"^::(?P<name>[a-z-]+)(?: (?P<props>[^:]*))?::(?P<message>.*)$")


def unescape(value: str, *, prop: bool) -> str:
    if "\r" in value or "\n" in value or (prop and (":" in value or "," in value)):
        raise AssertionError(f"unescaped character in {value!r}")
    pairs = [("%0D", "\r"), ("%0A", "\n")] + ([("%3A", ":"), ("%2C", ",")] if prop else [])
    for escaped, raw in pairs:
        value = value.replace(escaped, raw)
    return value.replace("%25", "%")


def parse(line: str) -> tuple[str, dict[str, str], str]:
    """One workflow command as the Actions runner reads it (name, properties, message)."""
    found = COMMAND.match(line)
    assert found, f"not a workflow command: {line!r}"
    props = {}
    for item in (found["props"] or "").split(",") if found["props"] else []:
        key, _, value = item.partition("=")
        props[key] = unescape(value, prop=True)
    return found["name"], props, unescape(found["message"], prop=False)


def test_escaping_round_trips_through_the_runner_syntax() -> None:
    nasty = "100% sure: a, b\r\nnext line %0A"
    line = annotation(Finding("warning", "docs/a, b: c%.md", 7, "title: x, y", nasty))
    assert "\n" not in line and "\r" not in line
    name, props, message = parse(line)
    assert (name, props, message) == ("warning", {"file": "docs/a, b: c%.md", "line": "7", "title": "title: x, y"}, nasty)
    assert escape_data("%\r\n:,") == "%25%0D%0A:,"
    assert escape_property("%\r\n:,") == "%25%0D%0A%3A%2C"


# ---------------------------------------------------------------- goldens

@pytest.fixture
def sample(tmp_path: Path) -> Workspace:
    book = tmp_path / "sample-book"
    shutil.copytree(SAMPLE_BOOK, book)
    return make_workspace(tmp_path / "ws", book)


def run(ws: Workspace, *args: str, code: int = 0) -> str:
    # Annotation paths are relative to the repository root: here the folder holding sample-book/.
    result = ws.run(*args, GITHUB_WORKSPACE=str(ws.book.parent))
    assert result.code == code, (args, result.code, result.stderr)
    return result.stdout


def check_junit(text: str) -> None:
    SCHEMA.validate(text)


def break_book(book: Path) -> None:
    """Three kinds of problem, with characters GitHub needs escaped in paths and messages."""
    lesson = book / CHAPTER / "02-lesson-encoders.md"
    text = lesson.read_text(encoding="utf-8")
    lesson.write_text(text.replace("layer: L2\n", "layer: 100%\n", 1), encoding="utf-8")
    (book / CHAPTER / "05-notes, part 1: draft.md").write_text("---\ntitle: Notes\n---\n\nDraft.\n", encoding="utf-8")
    calibration = book / "docs/01-Sensors-and-Signals/02-filtering-noisy-data/03-lesson-sensor-calibration.md"
    text = calibration.read_text(encoding="utf-8")
    calibration.write_text(text.replace("---\n", "---\nslug: /docs/Sensors-and-Signals/reading-sensors/lab\n", 1)
                           .replace("slug: /docs/", "slug: /"), encoding="utf-8")


def test_check_formats_on_the_bundled_book(sample: Workspace) -> None:
    text = run(sample, "check", "--format", "github")
    assert [parse(line)[0] for line in text.splitlines()] == ["notice"]
    golden("check-ok.github", text)
    junit = run(sample, "check", "--format", "junit")
    check_junit(junit)
    golden("check-ok.junit.xml", junit)
    golden("check-ok.md", run(sample, "check", "--format", "markdown"))
    assert json.loads(run(sample, "check", "--format", "json")) == json.loads(run(sample, "check", "--json"))
    assert "ok:" in run(sample, "check", "--format", "text")
    assert sample.run("check", "--json", "--format", "github").code == 2


def test_check_formats_on_a_broken_book(sample: Workspace) -> None:
    break_book(sample.book)
    text = run(sample, "check", "--format", "github", code=1)
    parsed = [parse(line) for line in text.splitlines()]
    assert [p[0] for p in parsed] == ["error", "error", "warning", "notice"]
    files = {p[1].get("file") for p in parsed}
    assert f"sample-book/{CHAPTER}/05-notes, part 1: draft.md" in files  # `,` and `:` survive escaping
    assert any("100%" in p[2] for p in parsed)
    golden("check-broken.github", text)
    junit = run(sample, "check", "--format", "junit", code=1)
    check_junit(junit)
    assert junit.count("<failure ") == 2 and f'sample-book/{CHAPTER}/02-lesson-encoders.md:' in junit
    golden("check-broken.junit.xml", junit)
    golden("check-broken.md", run(sample, "check", "--format", "markdown", code=1))
    # A sync refusing the broken book annotates the same lines (and still says why on stderr).
    refused = sample.run("sync", "--format", "github", GITHUB_WORKSPACE=str(sample.book.parent))
    assert refused.code == 1 and "nothing was written" in refused.stderr
    assert [parse(line)[:2] for line in refused.stdout.splitlines()] == [p[:2] for p in parsed if p[0] != "notice"]


def test_sync_plan_formats(sample: Workspace) -> None:
    golden("sync-plan-first.md", run(sample, "sync", "--dry-run", "--format", "markdown"))
    run(sample, "sync")
    golden("status.md", run(sample, "status", "--format", "markdown"))
    check_junit(run(sample, "status", "--format", "junit"))
    golden("status.github", run(sample, "status", "--format", "github"))
    embed_plan = run(sample, "embed", "--dry-run", "--format", "markdown")
    golden("embed-plan.md", embed_plan)
    check_junit(run(sample, "embed", "--dry-run", "--format", "junit"))
    golden("embed-plan.github", run(sample, "embed", "--dry-run", "--format", "github"))

    # The pull request of "Done means": one lesson renamed.
    old = sample.book / PID / "02-lesson-pid-controller.md"
    old.rename(old.with_name("02-lesson-pid-step-by-step.md"))
    check = run(sample, "check", "--format", "github")
    assert [parse(line)[0] for line in check.splitlines()] == ["notice"]  # annotates nothing
    plan = run(sample, "sync", "--dry-run", "--format", "github")
    parsed = [parse(line) for line in plan.splitlines()]
    assert [p[0] for p in parsed] == ["warning", "notice"]
    assert parsed[0][1] == {"file": f"sample-book/{PID}/02-lesson-pid-step-by-step.md", "line": "1",
                            "title": "lesson URL moved"}
    assert parsed[0][2].startswith("moved: /docs/Motors-and-Control/pid-control/lesson-pid-controller -> "
                                   "/docs/Motors-and-Control/pid-control/lesson-pid-step-by-step")
    golden("sync-plan-moved.github", plan)
    summary = run(sample, "sync", "--dry-run", "--format", "markdown")
    assert "| The PID Controller Step by Step | `/docs/Motors-and-Control/pid-control/lesson-pid-controller` | " \
           "`/docs/Motors-and-Control/pid-control/lesson-pid-step-by-step` |" in summary
    golden("sync-plan-moved.md", summary)
    junit = run(sample, "sync", "--dry-run", "--format", "junit")
    check_junit(junit)
    assert "<failure" not in junit
    refused = run(sample, "sync", "--dry-run", "--fail-on", "moved", "--format", "junit", code=1)
    check_junit(refused)
    assert refused.count("<failure ") == 1
    failed = run(sample, "sync", "--fail-on", "moved", "--format", "github", code=1)
    assert [parse(line)[0] for line in failed.splitlines()] == ["error", "notice"]
    run(sample, "sync")
    docusaurus = json.loads(run(sample, "redirects", "--format", "docusaurus"))
    assert docusaurus == {"redirects": [{"from": ["/docs/Motors-and-Control/pid-control/lesson-pid-controller"],
                                         "to": "/docs/Motors-and-Control/pid-control/lesson-pid-step-by-step"}]}
