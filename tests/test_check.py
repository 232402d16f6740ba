"""`bookctl check`: every kind of broken book exits 1 with file:line messages, all problems at once."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bookctl.curriculum import load_book, parse_book
from bookctl.curriculum.frontmatter import split_front_matter
from bookctl.curriculum.outline import parse_outline
from bookctl.errors import BookctlError, ContentError
from tests.conftest import FIXTURE_BOOK, Workspace, make_workspace

PART1 = "docs/01-Physical-AI-Foundations"
CH1 = f"{PART1}/01-what-is-physical-ai"
CH2 = f"{PART1}/02-sensors-actuators-humanoid-body"
LOCATED = re.compile(r"^(?P<path>[^\s:]+):(?P<line>\d+): (?P<severity>error|warning|info): ")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def lesson_file(title: str = "A lesson", extra: str = "", body: str = "Some text.\n") -> str:
    return f"---\ntitle: \"{title}\"\n{extra}---\n\n# {title}\n\n{body}"


def check(ws: Workspace) -> tuple[int, dict, str]:
    result = ws.run("check", "--json")
    text = ws.run("check")
    assert text.code == result.code
    return result.code, result.json, text.stdout


def errors(data: dict) -> list[dict]:
    return [p for p in data["problems"] if p["severity"] == "error"]


def assert_one_error(ws: Workspace, path: str, line: int, *words: str) -> dict:
    code, data, text = check(ws)
    assert code == 1, data
    matching = [p for p in errors(data) if p["path"] == path and all(w in p["message"] for w in words)]
    assert matching, errors(data)
    assert matching[0]["line"] == line, matching[0]
    assert f"{path}:{line}: error: " in text  # the human output names file:line too
    return matching[0]


@pytest.fixture
def ws(tmp_path: Path, fixture_book: Path) -> Workspace:
    return make_workspace(tmp_path / "ws", fixture_book)


# ---------------------------------------------------------------- the clean book

def test_fixture_book_passes(ws: Workspace) -> None:
    code, data, text = check(ws)
    assert code == 0
    assert data["ok"] is True and data["errors"] == 0 and data["warnings"] == 0
    assert (data["parts"], data["chapters"], data["lessons"], data["written"], data["planned"]) == (6, 18, 34, 19, 15)
    # the missing folders of Parts 2-6 are only info: those parts are outlined, not written
    assert [p["severity"] for p in data["problems"]] == ["info"] * 5
    assert "ok: 6 parts, 18 chapters" in text


def test_json_is_one_object_and_nothing_else(ws: Workspace) -> None:
    result = ws.run("check", "--json")
    assert result.stdout.count("\n") == 1 and result.stdout.startswith("{")
    assert set(result.json) >= {"book", "ok", "parts", "chapters", "lessons", "errors", "warnings", "problems"}


# ---------------------------------------------------------------- one kind of breakage at a time

def test_duplicate_slug(ws: Workspace) -> None:
    (ws.book / CH1 / "05-lesson-digital-vs-physical-ai.md").write_text(lesson_file("Another"))
    problem = assert_one_error(ws, f"{CH1}/05-lesson-digital-vs-physical-ai.md", 1, "duplicate slug")
    assert f"{CH1}/01-lesson-digital-vs-physical-ai.md:1" in problem["message"]


def test_duplicate_route_from_front_matter_slug(ws: Workspace) -> None:
    edit(ws.book / CH2 / "01-lesson-robot-sensors.md", "sidebar_position: 1", "sidebar_position: 1\nslug: /")
    assert_one_error(ws, f"{CH2}/01-lesson-robot-sensors.md", 1, "duplicate route '/docs'")


def test_duplicate_id(ws: Workspace) -> None:
    edit(ws.book / CH1 / "03-lesson-real-world-constraints.md", "sidebar_position: 3", "sidebar_position: 3\nid: lab")
    assert_one_error(ws, f"{CH1}/04-lab.md", 1, "duplicate slug 'what-is-physical-ai/lab'")


def test_unknown_chapter_prerequisite(ws: Workspace) -> None:
    edit(ws.book / "curriculum.md", "**Folder:** `02-sensors-actuators-humanoid-body/`",
         "**Folder:** `02-sensors-actuators-humanoid-body/`\n**Prerequisites:** Chapter 1, Chapter 99")
    assert_one_error(ws, "curriculum.md", 56, "Chapter 99 does not exist")


def test_malformed_chapter_prerequisite(ws: Workspace) -> None:
    edit(ws.book / "curriculum.md", "**Folder:** `02-sensors-actuators-humanoid-body/`",
         "**Folder:** `02-sensors-actuators-humanoid-body/`\n**Prerequisites:** the first one")
    assert_one_error(ws, "curriculum.md", 56, "'the first one' is not a chapter reference")


def test_cyclic_chapter_prerequisites(ws: Workspace) -> None:
    book = ws.book / "curriculum.md"
    edit(book, "**Folder:** `01-what-is-physical-ai/`", "**Folder:** `01-what-is-physical-ai/`\n**Prerequisites:** Chapter 3")
    edit(book, "**Folder:** `02-sensors-actuators-humanoid-body/`",
         "**Folder:** `02-sensors-actuators-humanoid-body/`\n**Prerequisites:** Chapter 1")
    edit(book, "**Folder:** `03-humanoid-robotics-landscape/`",
         "**Folder:** `03-humanoid-robotics-landscape/`\n**Prerequisites:** Chapter 2")
    problem = assert_one_error(ws, "curriculum.md", 47, "cycle")
    assert "Chapter 1 -> Chapter 3 -> Chapter 2 -> Chapter 1" in problem["message"]


def test_self_prerequisite_chapter(ws: Workspace) -> None:
    edit(ws.book / "curriculum.md", "**Folder:** `01-what-is-physical-ai/`",
         "**Folder:** `01-what-is-physical-ai/`\n**Prerequisites:** Chapter 1")
    assert_one_error(ws, "curriculum.md", 47, "lists itself")


def test_unknown_lesson_prerequisite(ws: Workspace) -> None:
    edit(ws.book / CH1 / "02-lesson-embodiment-hypothesis.md", "sidebar_position: 2",
         "sidebar_position: 2\nprerequisites: [no-such-lesson]")
    # Free-text prerequisites are common in real books (Docusaurus builds them): a warning at file:line, not an error.
    code, data, text = check(ws)
    assert code == 0 and not errors(data), data
    [warning] = [p for p in data["problems"] if "'no-such-lesson' is not a lesson" in p["message"]]
    assert (warning["severity"], warning["path"], warning["line"]) == ("warning", f"{CH1}/02-lesson-embodiment-hypothesis.md", 3)
    assert "kept as text" in warning["message"]


def test_cyclic_lesson_prerequisites(ws: Workspace) -> None:
    edit(ws.book / CH1 / "01-lesson-digital-vs-physical-ai.md", "sidebar_position: 1",
         "sidebar_position: 1\nprerequisites: [lesson-embodiment-hypothesis]")
    edit(ws.book / CH1 / "02-lesson-embodiment-hypothesis.md", "sidebar_position: 2",
         "sidebar_position: 2\nprerequisites: [lesson-digital-vs-physical-ai]")
    problem = assert_one_error(ws, f"{CH1}/01-lesson-digital-vs-physical-ai.md", 3, "cycle")
    assert "what-is-physical-ai/lesson-embodiment-hypothesis" in problem["message"]


def test_missing_chapter_folder_in_existing_part(ws: Workspace) -> None:
    edit(ws.book / "curriculum.md", "**Folder:** `03-humanoid-robotics-landscape/`", "**Folder:** `03-humanoid-robot-landscape/`")
    problem = assert_one_error(ws, "curriculum.md", 63, "Chapter 3 folder", "does not exist")
    assert "did you mean 03-humanoid-robotics-landscape/" in problem["message"]


def test_missing_chapter_folder_without_a_close_name_is_planned(ws: Workspace) -> None:
    chapter3 = ws.book / "docs/01-Physical-AI-Foundations/03-humanoid-robotics-landscape"
    for file in chapter3.iterdir():
        file.unlink()
    chapter3.rmdir()
    code, data, _ = check(ws)
    assert code == 0
    infos = [p for p in data["problems"] if "Chapter 3 folder" in p["message"]]
    assert infos and infos[0]["severity"] == "info" and infos[0]["line"] == 63
    assert "planned" in infos[0]["message"]


def test_missing_part_folder_with_a_close_name_is_an_error(ws: Workspace) -> None:
    (ws.book / "docs/01-Physical-AI-Foundations").rename(ws.book / "docs/01-Physical-AI-Fundations")
    problem = assert_one_error(ws, "curriculum.md", 39, "Part 1 folder")
    assert "did you mean docs/01-Physical-AI-Fundations/" in problem["message"]


def test_missing_part_folder_without_a_close_name_is_info(ws: Workspace) -> None:
    code, data, _ = check(ws)
    assert code == 0
    infos = [p for p in data["problems"] if "Part 2 folder" in p["message"]]
    assert infos and infos[0]["severity"] == "info" and infos[0]["line"] == 76


def test_unclosed_front_matter(ws: Workspace) -> None:
    (ws.book / CH1 / "02-lesson-embodiment-hypothesis.md").write_text("---\ntitle: x\n\n# Body\n")
    assert_one_error(ws, f"{CH1}/02-lesson-embodiment-hypothesis.md", 1, "never closed")


def test_front_matter_not_yaml(ws: Workspace) -> None:
    (ws.book / CH1 / "02-lesson-embodiment-hypothesis.md").write_text("---\ntitle: x\nlayer: [L1\n---\n# Body\n")
    assert_one_error(ws, f"{CH1}/02-lesson-embodiment-hypothesis.md", 4, "not valid YAML")


def test_front_matter_not_a_mapping(ws: Workspace) -> None:
    (ws.book / CH1 / "02-lesson-embodiment-hypothesis.md").write_text("---\n- a\n- b\n---\n# Body\n")
    assert_one_error(ws, f"{CH1}/02-lesson-embodiment-hypothesis.md", 2, "must be a mapping")


def test_empty_title(ws: Workspace) -> None:
    (ws.book / CH1 / "02-lesson-embodiment-hypothesis.md").write_text("---\nsidebar_position: 2\ntitle: \"\"\n---\n\nNo heading.\n")
    assert_one_error(ws, f"{CH1}/02-lesson-embodiment-hypothesis.md", 3, "empty title")


def test_title_from_heading_is_fine(ws: Workspace) -> None:
    (ws.book / CH1 / "02-lesson-embodiment-hypothesis.md").write_text("# The Embodiment Hypothesis\n\nText.\n")
    code, data, _ = check(ws)
    assert code == 0, errors(data)


@pytest.mark.parametrize(("extra", "line", "words"), [
    ("layer: L0\n", 3, ("layer 'L0'",)),
    ("layer: beginner\n", 3, ("layer 'beginner'",)),
    ("estimated_minutes: 0\n", 3, ("estimated_minutes 0",)),
    ("estimated_minutes: ten\n", 3, ("estimated_minutes 'ten'",)),
    ("estimated_minutes: 12.5\n", 3, ("estimated_minutes",)),
    ("tags: {a: 1}\n", 3, ("tags must be a list",)),
    ("tags: [ok, '']\n", 3, ("tags must be a list",)),
    ("prerequisites: 7\n", 3, ("prerequisites must be a list",)),
    ("type: quiz\n", 3, ("type 'quiz'",)),
    ("sidebar_position: first\n", 3, ("sidebar_position 'first' must be a number",)),
    ("id: a/b\n", 3, ("id 'a/b'",)),
    ("slug: ''\n", 3, ("slug must be a non-empty",)),
])
def test_bad_front_matter_values(ws: Workspace, extra: str, line: int, words: tuple[str, ...]) -> None:
    path = f"{CH2}/03-lesson-humanoid-body-plan.md"
    (ws.book / path).write_text(lesson_file("Body plan", extra))
    assert_one_error(ws, path, line, *words)


def test_good_front_matter_values_accepted(ws: Workspace) -> None:
    path = f"{CH2}/03-lesson-humanoid-body-plan.md"
    (ws.book / path).write_text(lesson_file("Body plan", "layer: l2 – l3\nestimated_minutes: 25\ntags: Sensors, Joints\n"))
    code, data, _ = check(ws)
    assert code == 0, errors(data)
    book, _ = load_book(ws.book)
    lesson = next(l for l in book.all_lessons() if l.slug == "sensors-actuators-humanoid-body/lesson-humanoid-body-plan")
    assert (lesson.layer, lesson.estimated_minutes, lesson.tags) == ("L2-L3", 25, ["sensors", "joints"])


@pytest.mark.parametrize(("old", "new", "line", "words"), [
    ("**Tier:** A2 (Beginner-Intermediate)", "**Tier:** Expert", 40, ("tier 'Expert'",)),
    ("**Layer:** L1 (Conceptual Foundations)", "**Layer:** Level one", 41, ("layer 'Level one'",)),
    ("**Folder:** `02-ROS2-Fundamentals/`", "**Folder:** `.`", 80, ("must name a folder inside docs/",)),
    ("**Folder:** `02-ROS2-Fundamentals/`", "**Folder:** `../../outside/`", 80, ("must name a folder inside docs/",)),
    ("**Folder:** `02-ROS2-Fundamentals/`", "**Folder:** `01-Physical-AI-Foundations/02-sensors-actuators-humanoid-body`", 80, ("overlaps another part's folder",)),
    ("**Folder:** `04-ros2-architecture/`", "**Folder:** `../../../etc`", 83, ("must name a folder inside docs/",)),
    ("**Folder:** `01-Physical-AI-Foundations/`", "", 39, ("has no **Folder:** line",)),
    ("**Folder:** `01-what-is-physical-ai/`", "**Folder:** ``", 46, ("empty **Folder:** value",)),
    ("## Part 1 — Physical AI Foundations (Weeks 1-2)", "## Part 1 — (Weeks 1-2)", 39, ("Part 1 has no title",)),
    ("## Part 1 — Physical AI Foundations (Weeks 1-2)", "## Part 1 — Physical AI Foundations (Weeks 2-1)", 39, ("run backwards",)),
    ("### Chapter 2: Sensors, Actuators & The Humanoid Body Plan", "### Chapter 1: Sensors", 54, ("Chapter 1 is declared twice",)),
    ("## Part 2 — ROS 2 Fundamentals (Weeks 3-5)", "## Part 1 — ROS 2 Fundamentals (Weeks 3-5)", 76, ("Part 1 is declared twice",)),
    ("**Folder:** `02-ROS2-Fundamentals/`", "**Folder:** `01-Physical-AI-Foundations/`", 76, ("used twice",)),
    ("# Physical AI & Humanoid Robotics Curriculum", "Physical AI", 1, ("no book title",)),
])
def test_outline_problems(ws: Workspace, old: str, new: str, line: int, words: tuple[str, ...]) -> None:
    edit(ws.book / "curriculum.md", old, new)
    assert_one_error(ws, "curriculum.md", line, *words)


def test_chapter_outside_a_part(ws: Workspace) -> None:
    edit(ws.book / "curriculum.md", "## Course Goal", "### Chapter 40: Lost\n\n## Course Goal")
    assert_one_error(ws, "curriculum.md", 14, "Chapter 40 is not inside")


def test_no_parts(tmp_path: Path) -> None:
    book = tmp_path / "book"
    (book / "docs").mkdir(parents=True)
    (book / "curriculum.md").write_text("# A book\n\nJust prose.\n")
    assert_one_error(make_workspace(tmp_path / "ws", book), "curriculum.md", 1, "no parts found")


def test_non_utf8_lesson(ws: Workspace) -> None:
    path = f"{CH1}/02-lesson-embodiment-hypothesis.md"
    (ws.book / path).write_bytes(b"---\ntitle: ok\n---\n\nline four\ncaf\xe9\n")
    assert_one_error(ws, path, 6, "not valid UTF-8")


def test_non_utf8_outline(ws: Workspace) -> None:
    outline = ws.book / "curriculum.md"
    raw = outline.read_bytes()
    line = raw[: raw.index(b"Course Goal")].count(b"\n") + 1  # the line of the bad byte, as for a lesson
    outline.write_bytes(raw.replace(b"Course Goal", b"Course Go\xe0l", 1))
    assert_one_error(ws, "curriculum.md", line, "not valid UTF-8")


def test_missing_curriculum_reads_the_tree(ws: Workspace) -> None:
    (ws.book / "curriculum.md").unlink()
    code, data, text = check(ws)
    assert code == 0, errors(data)
    assert data["outline"] == "docs tree"
    assert data["mapping"][0] == "Part 1: 01-Physical-AI-Foundations/ (Part 1: Physical AI Foundations)"
    assert "Part 1: 01-Physical-AI-Foundations/" in text and "no curriculum.md" in text  # says where the outline came from


def test_missing_book_dir(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", tmp_path / "nowhere")
    result = ws.run("check")
    assert result.code == 1
    assert "no curriculum.md" in result.stdout + result.stderr


# ---------------------------------------------------------------- warnings and all-at-once

def test_unlisted_file_is_a_warning_only(ws: Workspace) -> None:
    (ws.book / CH1 / "05-extra-reading.md").write_text(lesson_file("Extra reading"))
    (ws.book / PART1 / "99-stray-folder").mkdir()
    (ws.book / PART1 / "99-stray-folder" / "x.md").write_text(lesson_file("x"))
    code, data, text = check(ws)
    assert code == 0
    warnings = [p for p in data["problems"] if p["severity"] == "warning"]
    assert {p["path"] for p in warnings} == {f"{CH1}/05-extra-reading.md", f"{PART1}/99-stray-folder"}
    assert f"{CH1}/05-extra-reading.md:1: warning:" in text
    book, _ = load_book(ws.book)
    assert "what-is-physical-ai/extra-reading" in {l.slug for l in book.written_lessons()}


def test_every_problem_reported_at_once(ws: Workspace) -> None:
    outline = ws.book / "curriculum.md"
    edit(outline, "**Tier:** A2 (Beginner-Intermediate)", "**Tier:** Z9")
    edit(outline, "**Folder:** `03-humanoid-robotics-landscape/`", "**Folder:** `03-nowhere/`")
    edit(outline, "**Folder:** `04-ros2-architecture/`", "**Folder:** `04-ros2-architecture/`\n**Prerequisites:** Chapter 77")
    (ws.book / CH1 / "02-lesson-embodiment-hypothesis.md").write_text("---\ntitle: x\n")
    (ws.book / CH1 / "03-lesson-real-world-constraints.md").write_text(lesson_file("c", "layer: L10\n"))
    (ws.book / CH2 / "01-lesson-robot-sensors.md").write_bytes(b"\xff\xfe")
    (ws.book / CH2 / "02-lesson-actuators-motors.md").write_text(lesson_file("a", "prerequisites: [ghost]\n"))
    (ws.book / CH2 / "05-extra.md").write_text(lesson_file("extra"))
    code, data, text = check(ws)
    assert code == 1
    found = {(p["path"], p["severity"]) for p in data["problems"]}
    assert {
        ("curriculum.md", "error"),
        (f"{CH1}/02-lesson-embodiment-hypothesis.md", "error"),
        (f"{CH1}/03-lesson-real-world-constraints.md", "error"),
        (f"{CH2}/01-lesson-robot-sensors.md", "error"),
        (f"{CH2}/02-lesson-actuators-motors.md", "warning"),  # an unknown prerequisite is kept as text
        (f"{CH2}/05-extra.md", "warning"),
    } <= found
    assert data["errors"] >= 6
    assert sum(1 for p in errors(data) if p["path"] == "curriculum.md") == 3
    for line in text.splitlines()[:-1]:
        assert LOCATED.match(line) or line.startswith("docs/"), line
    assert text.splitlines()[-1].startswith("failed:")


def test_sync_refuses_a_broken_book_with_all_problems_on_stderr(ws: Workspace) -> None:
    (ws.book / CH1 / "02-lesson-embodiment-hypothesis.md").write_text("---\ntitle: x\n")
    (ws.book / CH1 / "03-lesson-real-world-constraints.md").write_text(lesson_file("c", "layer: L10\n"))
    result = ws.run("sync")
    assert result.code == 1
    lines = result.stderr.splitlines()
    assert any(l.startswith(f"{CH1}/02-lesson-embodiment-hypothesis.md:1: error:") for l in lines)
    assert any(l.startswith(f"{CH1}/03-lesson-real-world-constraints.md:3: error:") for l in lines)
    assert "Traceback" not in result.stderr
    assert lines[-1] == "bookctl: 2 error(s) in the book; nothing was written"


# ---------------------------------------------------------------- property tests: never a traceback

OUTLINE_LINES = st.sampled_from([
    "# Title", "## Part 1 — One (Weeks 1-2)", "## Part 2: Two (Week 9-3)", "## Part x", "## Part 99999999999999999999 — Big",
    "### Chapter 1: A", "### Chapter 2", "### Chapter 1: dup", "### Chapter", "**Folder:** `01-one/`", "**Folder:** 02-a",
    "**Folder:**", "**Tier:** B1 (x)", "**Tier:** Q", "**Layer:** L2-L3", "**Layer:** L0", "**Lessons:**",
    "**Lessons:** a; b", "**Prerequisites:** Chapter 1", "**Prerequisites:** Chapter 2, 1", "**Prerequisites:** x",
    "**Transition Check:** ok?", "- topic", "  - nested", "* star", "**Bold heading**", "```", "~~~", "", "| a | b |",
    "**Title:** T", "**Version:** 2",
])


@st.composite
def outlines(draw) -> str:
    lines = draw(st.lists(st.one_of(OUTLINE_LINES, st.text(max_size=40)), max_size=40))
    return "\n".join(lines)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(), outlines()))
def test_outline_parser_never_crashes(text: str) -> None:
    fields, parts, problems = parse_outline(text, "curriculum.md")
    assert all(p.path == "curriculum.md" and p.line >= 0 for p in problems)


FRONT_MATTER = st.one_of(
    st.text(max_size=200),
    st.builds(lambda body, fm: f"---\n{fm}\n---\n{body}", st.text(max_size=50), st.text(max_size=120)),
    st.builds(
        lambda key, value: f"---\n{key}: {value}\n---\n# T\n",
        st.sampled_from(["title", "layer", "tags", "estimated_minutes", "prerequisites", "slug", "id", "type",
                         "sidebar_position", "description", "weird"]),
        st.one_of(st.text(max_size=30), st.sampled_from(["[", "{a: 1}", "- x", "!!python/object:os.system", "*anchor",
                                                          "&a [*a]", "null", "1e400", "-5", "[1, [2]]", "2024-01-01"])),
    ),
)


@settings(max_examples=300, deadline=None)
@given(text=FRONT_MATTER)
def test_front_matter_parser_never_crashes(text: str) -> None:
    meta, body_line, problems = split_front_matter(text, "x.md")
    assert isinstance(meta, dict) and body_line >= 1


def _mutate(text: str, data) -> str:
    lines = text.split("\n")
    for _ in range(data.draw(st.integers(1, 6))):
        i = data.draw(st.integers(0, max(0, len(lines) - 1)))
        op = data.draw(st.sampled_from(["drop", "dup", "swap", "garble", "insert"]))
        if op == "drop" and lines:
            lines.pop(i)
        elif op == "dup" and lines:
            lines.insert(i, lines[i])
        elif op == "swap" and len(lines) > 1:
            j = data.draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "garble" and lines:
            lines[i] = data.draw(st.text(max_size=30)) + lines[i][len(lines[i]) // 2:]
        else:
            lines.insert(i, data.draw(st.one_of(OUTLINE_LINES, st.text(max_size=30))))
    return "\n".join(lines)


_ORIGINAL_OUTLINE = (FIXTURE_BOOK / "curriculum.md").read_text(encoding="utf-8")
_ORIGINAL_LESSON = (FIXTURE_BOOK / CH1 / "02-lesson-embodiment-hypothesis.md").read_text(encoding="utf-8")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), raw=st.binary(max_size=64))
def test_mutated_book_yields_problems_or_bookctl_errors_only(data, raw: bytes) -> None:
    """The whole loader on a mutated copy of the real book: problems, or ContentError from parse_book."""
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp)
        chapter = book / CH1
        chapter.mkdir(parents=True)
        (book / "docs/course-overview").mkdir()
        (book / "curriculum.md").write_text(_mutate(_ORIGINAL_OUTLINE, data), encoding="utf-8")
        (chapter / "index.md").write_text(_mutate(_ORIGINAL_LESSON, data), encoding="utf-8")
        (chapter / "02-lesson-embodiment-hypothesis.md").write_text(_mutate(_ORIGINAL_LESSON, data), encoding="utf-8")
        (chapter / "03-lesson-x.md").write_bytes(raw)
        name = data.draw(st.sampled_from(["01-a.md", "_partial.md", "lab.mdx", "README.md", "01-a.md"]))
        (chapter / name).write_text(data.draw(FRONT_MATTER), encoding="utf-8")
        book_obj, problems = load_book(book)
        assert all(p.severity in ("error", "warning", "info") for p in problems)
        try:
            parse_book(book)
        except ContentError as exc:
            assert exc.problems and exc.exit_code == 1
        except BookctlError:  # pragma: no cover - any of our own errors is acceptable
            pass


def test_part_without_layer_has_no_layer(ws: Workspace) -> None:
    edit(ws.book / "curriculum.md", "**Layer:** L1 (Conceptual Foundations)", "")
    code, data, _ = check(ws)
    assert code == 0, errors(data)
    book, _ = load_book(ws.book)
    assert book.parts[0].layer is None
    assert {l.layer for l in book.parts[0].chapters[0].lessons} == {None}  # the recommender's layer rule then skips them


def test_chapters_numbered_within_each_part(ws: Workspace) -> None:
    outline = ws.book / "curriculum.md"
    for number, local in ((4, 1), (5, 2), (6, 3), (7, 4)):
        edit(outline, f"### Chapter {number}:", f"### Chapter {local}:")
    edit(outline, "**Folder:** `05-ros2-packages-with-python/`", "**Folder:** `05-ros2-packages-with-python/`\n**Prerequisites:** Chapter 1")
    code, data, _ = check(ws)
    assert code == 0, errors(data)
    assert any("numbered within each part" in p["message"] for p in data["problems"])
    book, _ = load_book(ws.book)
    part2 = book.parts[1]
    assert [(c.local_number, c.number) for c in part2.chapters] == [(1, 4), (2, 5), (3, 6), (4, 7)]
    assert part2.chapters[1].prerequisites == [4]  # 'Chapter 1' of the same part, not Part 1's chapter 1
    edit(outline, "### Chapter 2: Creating", "### Chapter 1: Creating")
    code, data, _ = check(ws)
    assert code == 1 and any("Part 2, Chapter 1 is declared twice" in p["message"] for p in errors(data))


def test_files_in_a_chapter_subfolder_are_lessons(ws: Workspace) -> None:
    sub = ws.book / CH1 / "extras"
    sub.mkdir()
    (sub / "deep-dive.md").write_text(lesson_file("Deep dive"))
    book, problems = load_book(ws.book)
    lesson = next(l for l in book.written_lessons() if l.source and l.source.name == "deep-dive.md")
    assert lesson.chapter_number == 1 and lesson.route.endswith("/what-is-physical-ai/extras/deep-dive")
    assert not [p for p in problems if p.severity == "error"]
