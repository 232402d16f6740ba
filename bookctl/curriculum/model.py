"""The parsed book: plain dataclasses, no database, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

LESSON_TYPES = ("lesson", "lab", "summary", "index")


@dataclass
class Lesson:
    slug: str
    title: str
    type: str  # lesson | lab | summary | index
    status: str  # written | planned
    number: int  # position in its chapter (or part/book) ordering
    route: str | None = None
    source: Path | None = None  # file relative to the book dir; None when planned
    source_line: int = 0  # where the lesson is declared (outline line for planned lessons)
    body: bytes = b""  # the file's bytes as synced (front matter included: Docusaurus needs it)
    layer: str | None = None
    tags: list[str] = field(default_factory=list)
    estimated_minutes: int | None = None
    sidebar_position: float | None = None
    description: str | None = None
    outline_title: str | None = None
    prerequisite_refs: list[str] = field(default_factory=list)  # as written in front matter
    prerequisites: list[str] = field(default_factory=list)  # resolved lesson slugs
    prerequisites_line: int = 1
    prerequisite_notes: list[str] = field(default_factory=list)  # refs that name no lesson, kept as text
    part_number: int | None = None
    chapter_number: int | None = None
    unlisted: bool = False  # front matter `unlisted: true`: served at its route, never recommended


@dataclass
class Chapter:
    number: int
    local_number: int
    title: str
    folder: str
    line: int
    outline_path: str
    transition_check: str | None = None
    prerequisite_refs: list[tuple[int, int]] = field(default_factory=list)  # (chapter number, line)
    prerequisites: list[int] = field(default_factory=list)  # resolved chapter numbers
    topics: list[tuple[str, int]] = field(default_factory=list)  # outline bullets with their lines
    folder_line: int = 0  # the **Folder:** line in the outline
    lessons: list[Lesson] = field(default_factory=list)
    exists: bool = False


@dataclass
class Part:
    number: int
    title: str
    folder: str
    line: int
    tier: str | None = None
    tier_label: str | None = None
    layer: str | None = None
    layer_label: str | None = None
    focus: str | None = None
    week_start: int | None = None
    week_end: int | None = None
    transition_check: str | None = None
    chapters: list[Chapter] = field(default_factory=list)
    pages: list[Lesson] = field(default_factory=list)  # part index and summary
    exists: bool = False
    folder_line: int = 0  # the **Folder:** line in the outline


@dataclass
class Book:
    slug: str
    title: str
    root: Path
    description: str | None = None
    version: str | None = None
    parts: list[Part] = field(default_factory=list)
    pages: list[Lesson] = field(default_factory=list)  # book-level pages: intro, course overview
    outline_source: str = "curriculum.md"  # or "docs tree" when the outline was read from the tree
    mapping: list[str] = field(default_factory=list)  # how the tree became parts/chapters (tree books only)

    def all_chapters(self) -> list[Chapter]:
        return [c for p in self.parts for c in p.chapters]

    def all_lessons(self) -> list[Lesson]:
        """Every lesson and page in reading order: book pages, then per part its pages and chapters."""
        out = list(self.pages)
        for part in self.parts:
            index = [p for p in part.pages if p.type == "index"]
            rest = [p for p in part.pages if p.type != "index"]
            out.extend(index)
            for chapter in part.chapters:
                out.extend(chapter.lessons)
            out.extend(rest)
        return out

    def written_lessons(self) -> list[Lesson]:
        return [lesson for lesson in self.all_lessons() if lesson.status == "written"]
