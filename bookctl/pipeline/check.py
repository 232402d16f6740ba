"""`bookctl check`: parse and validate, report every problem. No writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bookctl.curriculum import load_book
from bookctl.errors import Problem


@dataclass
class CheckResult:
    book: str
    parts: int
    chapters: int
    lessons: int
    written: int
    planned: int
    problems: list[Problem] = field(default_factory=list)
    outline: str = "curriculum.md"  # or "docs tree"
    mapping: list[str] = field(default_factory=list)  # how the tree became parts and chapters

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p.severity == "error")

    @property
    def ok(self) -> bool:
        return self.errors == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "book": self.book, "ok": self.ok, "parts": self.parts, "chapters": self.chapters, "lessons": self.lessons,
            "written": self.written, "planned": self.planned, "errors": self.errors,
            "warnings": sum(1 for p in self.problems if p.severity == "warning"),
            "problems": [p.as_dict() for p in self.problems],
            "outline": self.outline, "mapping": self.mapping,
        }


def check(book_dir: Path, route_base: str = "/docs", slug: str | None = None) -> CheckResult:
    from bookctl.pipeline.storable import storable_problems

    book, problems = load_book(book_dir, route_base, slug)
    problems = sorted(set(problems) | set(storable_problems(book)))
    lessons = book.all_lessons()
    written = sum(1 for lesson in lessons if lesson.status == "written")
    return CheckResult(book.slug, len(book.parts), len(book.all_chapters()), len(lessons), written,
                       len(lessons) - written, problems, book.outline_source, book.mapping)
