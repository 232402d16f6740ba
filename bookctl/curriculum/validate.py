"""Book-wide checks that need every lesson at once: unique slugs and routes, lesson prerequisites."""

from __future__ import annotations

import posixpath

from bookctl.curriculum.model import Book, Lesson
from bookctl.curriculum.outline import OUTLINE_NAME, find_cycle
from bookctl.curriculum.routes import normalize_route, strip_number_prefix
from bookctl.errors import Problem


def _where(lesson: Lesson) -> tuple[str, int]:
    if lesson.source is not None:
        return lesson.source.as_posix(), 1
    return OUTLINE_NAME, lesson.source_line


def validate_book(book: Book, problems: list[Problem]) -> None:
    lessons = book.all_lessons()
    _unique(lessons, "slug", lambda l: l.slug, problems)
    _unique([l for l in lessons if l.route], "route", lambda l: l.route, problems)
    _resolve_prerequisites(lessons, problems)


def _unique(lessons: list[Lesson], what: str, key, problems: list[Problem]) -> None:
    seen: dict[str, Lesson] = {}
    for lesson in lessons:
        value = key(lesson)
        if value in seen:
            other_path, other_line = _where(seen[value])
            path, line = _where(lesson)
            fix = "set a distinct 'slug:' (or 'id:') in the front matter" if lesson.source else "rename one of the two outline topics"
            problems.append(Problem(path, line, f"duplicate {what} {value!r} (also {other_path}:{other_line}): {fix}"))
        else:
            seen[value] = lesson


def _resolve_prerequisites(lessons: list[Lesson], problems: list[Problem]) -> None:
    by_slug = {l.slug: l for l in lessons}
    by_route = {l.route: l for l in lessons if l.route}
    by_file = {l.source.with_suffix("").as_posix(): l for l in lessons if l.source}
    for lesson in lessons:
        resolved = []
        lesson.prerequisite_notes = []
        for ref in lesson.prerequisite_refs:
            target = _lookup(ref, lesson, by_slug, by_route, by_file)
            path, _ = _where(lesson)
            if target is None:
                # Real books write prerequisites as free text ("Module 1: ROS 2 proficiency"): Docusaurus
                # builds them fine, so they are kept as text (the recommender's reason) and only warned about.
                lesson.prerequisite_notes.append(ref)
                problems.append(Problem(path, _ref_line(lesson), f"prerequisite {ref!r} is not a lesson of this book, kept as text; "
                                                                 f"to make it a rule, use a lesson slug such as {_example(lessons)!r}", "warning"))
            elif target is lesson:
                problems.append(Problem(path, _ref_line(lesson), "a lesson cannot be its own prerequisite"))
            else:
                resolved.append(target.slug)
        lesson.prerequisites = resolved
    cycle = find_cycle({l.slug: l.prerequisites for l in lessons if l.prerequisites})
    if cycle:
        first = by_slug[cycle[0]]
        path, _ = _where(first)
        problems.append(Problem(path, _ref_line(first), "lesson prerequisites form a cycle: " + " -> ".join(cycle)))


def _lookup(ref: str, lesson: Lesson, by_slug, by_route, by_file) -> Lesson | None:
    key = ref.strip()
    if key.lower() in by_slug:
        return by_slug[key.lower()]
    if key.startswith("/") and normalize_route(key) in by_route:
        return by_route[normalize_route(key)]
    if lesson.source is not None:
        # A path relative to the lesson's file, with or without its .md suffix.
        rel = posixpath.normpath(posixpath.join(lesson.source.parent.as_posix(), key))
        for suffix in (".mdx", ".md"):
            rel = rel.removesuffix(suffix)
        if rel in by_file:
            return by_file[rel]
        # A sibling named without its number prefix: "lesson-embodiment-hypothesis".
        chapter_prefix = lesson.slug.rsplit("/", 1)[0] if "/" in lesson.slug else ""
        sibling = f"{chapter_prefix}/{strip_number_prefix(key)}".lower()
        if sibling in by_slug:
            return by_slug[sibling]
    return None


def _ref_line(lesson: Lesson) -> int:
    return lesson.source_line if lesson.source is None else lesson.prerequisites_line


def _example(lessons: list[Lesson]) -> str:
    written = [l for l in lessons if l.status == "written" and l.type == "lesson"]
    return (written or lessons or [Lesson("chapter/lesson", "", "lesson", "planned", 0)])[0].slug
