"""The curriculum parser on the real robotics book (../shared/fixtures/robotics-book) and the bundled sample."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bookctl.curriculum import load_book
from bookctl.curriculum.model import Book, Lesson
from bookctl.curriculum.outline import find_cycle, parse_outline
from bookctl.curriculum.routes import doc_route, strip_number_prefix
from tests.conftest import FIXTURE_BOOK, SAMPLE_BOOK

PART1 = "01-Physical-AI-Foundations"


@pytest.fixture(scope="module")
def robotics() -> Book:
    book, problems = load_book(FIXTURE_BOOK)
    assert [p for p in problems if p.severity != "info"] == []
    return book


def by_slug(book: Book) -> dict[str, Lesson]:
    return {lesson.slug: lesson for lesson in book.all_lessons()}


# ---------------------------------------------------------------- parts and chapters

def test_six_parts_with_tier_layer_weeks_and_folder(robotics: Book) -> None:
    got = [(p.number, p.tier, p.layer, p.week_start, p.week_end, p.folder) for p in robotics.parts]
    assert got == [
        (1, "A2", "L1", 1, 2, "01-Physical-AI-Foundations"),
        (2, "B1", "L2-L3", 3, 5, "02-ROS2-Fundamentals"),
        (3, "B2", "L2", 6, 7, "03-Simulation-Systems"),
        (4, "C1", "L2-L3", 8, 10, "04-NVIDIA-Isaac-AI"),
        (5, "C2", "L4", 11, 12, "05-Vision-Language-Action"),
        (6, "C2", "L5", 13, 13, "06-Capstone"),
    ]
    assert robotics.parts[0].title == "Physical AI Foundations"
    assert robotics.parts[0].tier_label == "Beginner-Intermediate"
    assert robotics.parts[1].layer_label == "Simulation + Control"
    assert robotics.parts[0].focus == "Building mental models before any code"
    # DESIGN.md lists **Transition Check:** among a chapter's fields: it stays with the chapter it follows
    assert robotics.all_chapters()[2].transition_check.startswith("Can students sketch")
    assert robotics.title == "Physical AI & Humanoid Robotics"
    assert robotics.slug == "physical-ai-humanoid-robotics"


def test_eighteen_chapters_with_folders_in_their_parts(robotics: Book) -> None:
    chapters = robotics.all_chapters()
    assert [c.number for c in chapters] == list(range(1, 19))
    assert [len(p.chapters) for p in robotics.parts] == [3, 4, 4, 3, 3, 1]
    assert all(c.folder and c.folder.startswith(f"{c.number:02d}-") for c in chapters)
    assert chapters[0].folder == "01-what-is-physical-ai"
    assert chapters[17].folder == "18-capstone-autonomous-humanoid"
    assert chapters[17].title == "Build an Autonomous Humanoid Robot"
    # local numbers restart in each part
    assert [c.local_number for c in robotics.parts[1].chapters] == [1, 2, 3, 4]


def test_part_one_outline_reconciled_with_files(robotics: Book) -> None:
    for chapter in robotics.parts[0].chapters:
        types = [lesson.type for lesson in chapter.lessons]
        assert types == ["index", "lesson", "lesson", "lesson", "lab"], chapter.folder
        assert all(lesson.status == "written" for lesson in chapter.lessons)
        # each listed topic is matched to its file, so no planned duplicates appear
        assert [l.outline_title for l in chapter.lessons[1:]] == [t for t, _ in chapter.topics]
        for lesson in chapter.lessons:
            assert lesson.source is not None and lesson.source.as_posix().startswith(f"docs/{PART1}/{chapter.folder}/")
            assert lesson.body == (FIXTURE_BOOK / lesson.source).read_bytes()  # synced as written (CRLF too)
    first = robotics.parts[0].chapters[0].lessons[1]
    assert first.slug == "what-is-physical-ai/lesson-digital-vs-physical-ai"
    assert first.title == "Digital AI vs Physical AI"
    assert first.layer == "L1"  # inherited from the part
    assert first.sidebar_position == 1


def test_written_part_one_count(robotics: Book) -> None:
    written = robotics.written_lessons()
    # intro + course overview + part index + part summary + 3 chapters x (index, 3 lessons, lab)
    assert len(written) == 19
    assert sum(1 for l in written if l.type == "lab") == 3


def test_every_outline_topic_of_chapters_4_to_18_is_planned(robotics: Book) -> None:
    text = (FIXTURE_BOOK / "curriculum.md").read_text()
    for chapter in robotics.all_chapters()[3:]:
        assert chapter.lessons, f"chapter {chapter.number} has no planned lesson"
        assert all(l.status == "planned" and l.source is None and l.route is None for l in chapter.lessons)
        assert [l.title for l in chapter.lessons] == [t for t, _ in chapter.topics]
        for lesson in chapter.lessons:
            assert lesson.title in text.splitlines()[lesson.source_line - 1]  # points at its outline line
            assert lesson.chapter_number == chapter.number
    ch4 = robotics.all_chapters()[3]
    assert ch4.lessons[0].slug == "ros2-architecture/nodes-topics-services-and-actions"
    assert ch4.lessons[0].layer == "L2-L3"
    # the capstone chapter's one bold heading is its topic
    assert robotics.all_chapters()[17].lessons[0].title == "Capstone Project: The Autonomous Humanoid"
    assert len([l for l in robotics.all_lessons() if l.status == "planned"]) == 15


def test_book_and_part_pages_kept(robotics: Book) -> None:
    pages = {l.slug: l for l in robotics.pages}
    assert set(pages) == {"intro", "course-overview/index"}
    assert all(p.type == "index" and p.part_number is None and p.chapter_number is None for p in pages.values())
    part_pages = {l.slug: l.type for l in robotics.parts[0].pages}
    assert part_pages == {"physical-ai-foundations/index": "index", "physical-ai-foundations/part-summary": "summary"}
    assert all(p.part_number == 1 and p.chapter_number is None for p in robotics.parts[0].pages)
    # reading order: book pages first, part index before its chapters, summary after them
    order = [l.slug for l in robotics.all_lessons()]
    assert order[:3] == ["intro", "course-overview/index", "physical-ai-foundations/index"]
    assert order.index("physical-ai-foundations/part-summary") > order.index("humanoid-robotics-landscape/lab")


def test_prose_sections_are_ignored(robotics: Book) -> None:
    titles = {l.title for l in robotics.all_lessons()} | {c.title for c in robotics.all_chapters()}
    for prose in ("Tier 1: The \"Digital Twin\" Workstation (Required)", "Robot: Unitree Go2 Edu (~$1,800-$3,000)",
                  "Explain", "Receives a voice command", "Learning Outcomes", "Hardware Requirements"):
        assert prose not in titles
    assert len(robotics.parts) == 6


def test_routes_as_docusaurus_serves_them(robotics: Book) -> None:
    lessons = by_slug(robotics)
    assert lessons["intro"].route == "/docs"  # slug: / in front matter
    assert lessons["course-overview/index"].route == "/docs/course-overview"
    assert lessons["physical-ai-foundations/index"].route == "/docs/Physical-AI-Foundations"
    assert lessons["physical-ai-foundations/part-summary"].route == "/docs/Physical-AI-Foundations/part-summary"
    assert lessons["what-is-physical-ai/index"].route == "/docs/Physical-AI-Foundations/what-is-physical-ai"
    assert (lessons["what-is-physical-ai/lesson-digital-vs-physical-ai"].route
            == "/docs/Physical-AI-Foundations/what-is-physical-ai/lesson-digital-vs-physical-ai")
    assert lessons["what-is-physical-ai/lab"].route == "/docs/Physical-AI-Foundations/what-is-physical-ai/lab"
    routes = [l.route for l in robotics.written_lessons()]
    assert len(routes) == len(set(routes))


@pytest.mark.parametrize(("parts", "front_slug", "route"), [
    (["01-Part", "02-chap", "03-lesson-x"], None, "/docs/Part/chap/lesson-x"),
    (["01-Part", "02-chap", "index"], None, "/docs/Part/chap"),
    (["guides", "guides"], None, "/docs/guides"),  # a file named like its folder is the folder's index
    (["01-Part", "02-chap", "x"], "/custom/", "/docs/custom"),
    (["01-Part", "02-chap", "x"], "renamed", "/docs/Part/chap/renamed"),
    (["2023-01-01-news"], None, "/docs/2023-01-01-news"),  # date-like prefixes are kept
])
def test_doc_route_rules(parts: list[str], front_slug: str | None, route: str) -> None:
    assert doc_route("/docs", parts, front_slug) == route


def test_number_prefix_rules() -> None:
    assert strip_number_prefix("01-intro") == "intro"
    assert strip_number_prefix("1_intro") == "intro"
    assert strip_number_prefix("intro") == "intro"
    assert strip_number_prefix("2023-01-01-news") == "2023-01-01-news"


# ---------------------------------------------------------------- prerequisites

def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_chapter_and_lesson_prerequisites_resolved(fixture_book: Path) -> None:
    outline = fixture_book / "curriculum.md"
    text = outline.read_text()
    text = text.replace("**Folder:** `02-sensors-actuators-humanoid-body/`",
                        "**Folder:** `02-sensors-actuators-humanoid-body/`\n**Prerequisites:** Chapter 1", 1)
    text = text.replace("**Folder:** `04-ros2-architecture/`",
                        "**Folder:** `04-ros2-architecture/`\n**Prerequisites:** Chapter 1, Chapter 3", 1)
    outline.write_text(text)
    lesson = fixture_book / f"docs/{PART1}/01-what-is-physical-ai/02-lesson-embodiment-hypothesis.md"
    lesson.write_text(lesson.read_text().replace(
        'title: "The Embodiment Hypothesis"',
        'title: "The Embodiment Hypothesis"\nprerequisites:\n  - lesson-digital-vs-physical-ai\n'
        '  - /docs/Physical-AI-Foundations/what-is-physical-ai\n  - ../02-sensors-actuators-humanoid-body/01-lesson-robot-sensors.md', 1))
    book, problems = load_book(fixture_book)
    assert [p for p in problems if p.severity == "error"] == []
    chapters = {c.number: c for c in book.all_chapters()}
    assert chapters[2].prerequisites == [1]
    assert chapters[4].prerequisites == [1, 3]
    assert chapters[1].prerequisites == []
    assert by_slug(book)["what-is-physical-ai/lesson-embodiment-hypothesis"].prerequisites == [
        "what-is-physical-ai/lesson-digital-vs-physical-ai",
        "what-is-physical-ai/index",
        "sensors-actuators-humanoid-body/lesson-robot-sensors",
    ]


def test_find_cycle_is_iterative_and_finds_cycles() -> None:
    deep = {i: [i + 1] for i in range(20_000)}  # far beyond the recursion limit
    assert find_cycle(deep) is None
    deep[19_999] = [0]
    cycle = find_cycle(deep)
    assert cycle is not None and cycle[0] == cycle[-1] and len(cycle) == 20_001
    assert find_cycle({1: [2], 2: [3], 3: [2]}) == [2, 3, 2]
    assert find_cycle({"a": ["b"], "b": []}) is None


def test_outline_fields_and_inline_lessons() -> None:
    text = "\n".join([
        "# My Book", "**Version:** 1.2", "",
        "## Part 1: Basics (Week 3)", "**Tier:** B2", "**Layer:** L2 – L3", "**Folder:** `01-basics/`", "",
        "### Chapter 1. Start", "**Folder:** 01-start", "**Lessons:** One; Two, Three",
        "```", "## Part 9 — inside a fence is prose", "```",
        "### Chapter 2: Next", "**Folder:** 02-next", "- Alpha", "  - a sub-bullet is not a lesson", "* Beta",
    ])
    fields, parts, problems = parse_outline(text, "curriculum.md")
    assert problems == []
    assert fields == {"version": "1.2", "title": "My Book"}
    [part] = parts
    assert (part.title, part.week_start, part.week_end, part.layer, part.folder) == ("Basics", 3, 3, "L2-L3", "01-basics")
    assert [t for t, _ in part.chapters[0].topics] == ["One", "Two", "Three"]
    assert [t for t, _ in part.chapters[1].topics] == ["Alpha", "Beta"]
    assert part.chapters[1].topics[0][1] == 17


# ---------------------------------------------------------------- the bundled sample book

def test_sample_book_exists() -> None:
    assert (SAMPLE_BOOK / "curriculum.md").is_file(), "the bundled sample book curriculum/ is missing"


@pytest.fixture(scope="module")
def sample() -> tuple[Book, list]:
    return load_book(SAMPLE_BOOK)


def test_sample_book_is_clean_and_complete(sample) -> None:
    book, problems = sample
    assert [str(p) for p in problems if p.severity in ("error", "warning")] == []
    assert len(book.parts) >= 2
    assert len(book.all_chapters()) >= 4
    lessons = book.all_lessons()
    written = [l for l in lessons if l.status == "written"]
    assert sum(1 for l in written if l.type in ("lesson", "lab")) >= 10
    assert any(l.type == "lab" for l in written)
    assert any(l.status == "planned" for l in lessons)
    # every written chapter has an intro page
    for chapter in book.all_chapters():
        if chapter.exists:
            assert any(l.type == "index" for l in chapter.lessons), chapter.folder


def test_sample_book_prerequisites_and_front_matter(sample) -> None:
    book, _ = sample
    assert any(c.prerequisites for c in book.all_chapters()), "no chapter declares **Prerequisites:**"
    for chapter in book.all_chapters():
        assert all(n < chapter.number for n in chapter.prerequisites)
    written = [l for l in book.written_lessons() if l.type in ("lesson", "lab")]
    assert any(l.tags for l in written)
    assert all(l.layer and re.fullmatch(r"L[1-9](-L[1-9])?", l.layer) for l in written)
    raw = [l.body.decode() for l in written]
    assert any("estimated_minutes:" in text for text in raw)
    assert any("layer:" in text for text in raw)
    assert any("```" in text for text in raw), "no fenced code block in the sample lessons"
    slugs = {l.slug for l in book.all_lessons()}
    assert all(set(l.prerequisites) <= slugs for l in book.all_lessons())
    routes = [l.route for l in book.written_lessons()]
    assert len(routes) == len(set(routes))
