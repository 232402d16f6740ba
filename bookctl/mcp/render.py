"""Markdown for the MCP resources and prompts, from the content service's structs (pure: no I/O)."""

from __future__ import annotations

from typing import Any

from bookctl.content import schemas as s

QUIZ_BUDGET_CHARS = 60_000  # the chapter text a quiz prompt carries (a long chapter is cut, and says so)


def outline(book: s.Book) -> str:
    counts = book.counts
    lines = [f"# {book.title}", ""]
    if book.description:
        lines += [book.description, ""]
    lines += [f"{counts.parts} parts, {counts.chapters} chapters, {counts.lessons} lessons "
              f"({counts.written} written, {counts.planned} planned). Read a lesson at book://lessons/<slug>.", ""]
    lines += [_lesson_line(page) for page in book.pages]
    for part in book.parts:
        lines += ["", f"## Part {part.number}: {part.title} ({part.layer})"]
        lines += [_lesson_line(page) for page in part.pages]
        for chapter in part.chapters:
            lines += ["", f"### Chapter {chapter.number}: {chapter.title}"]
            lines += [_lesson_line(lesson) for lesson in chapter.lessons]
    return "\n".join(lines).rstrip() + "\n"


def _lesson_line(lesson: s.LessonSummary) -> str:
    facts = [lesson.status]
    if lesson.type != "lesson":
        facts.append(lesson.type)
    if lesson.layer:
        facts.append(lesson.layer)
    if lesson.estimated_minutes:
        facts.append(f"{lesson.estimated_minutes} min")
    return f"- {lesson.title} — `{lesson.slug}` ({', '.join(facts)})"


def lesson(text: s.LessonContent) -> str:
    return f"# {text.title}\n\n{text.content.lstrip()}" if not text.content.lstrip().startswith("# ") else text.content


def explain_prompt(text: s.LessonContent, profile: dict[str, Any] | None, level: str | None) -> str:
    """The learner's profile (onboarding answers) drives the same guidance the personalization prompt uses."""
    if profile is not None:
        from bookctl.personalization.profile import Profile
        from bookctl.personalization.prompts import guidance

        who = "Adapt the explanation to this learner:\n" + guidance(Profile.from_mapping(profile))
    elif level:
        who = f"The learner describes their level as: {level}."
    else:
        who = "The learner's level is unknown: ask one short question about their background first."
    return (f"Explain the lesson \"{text.title}\" (`{text.slug}`, {text.route or 'no route'}) from the textbook to "
            f"me. Use only what the lesson says, keep its code exact, and end with two questions that check my "
            f"understanding.\n\n{who}\n\n<lesson>\n{text.content.strip()}\n</lesson>\n")


def quiz_prompt(chapter: s.Chapter, texts: list[s.LessonContent], questions: int) -> str:
    parts, used, cut = [], 0, False
    for text in texts:
        block = f"<lesson slug=\"{text.slug}\" title=\"{text.title}\">\n{text.content.strip()}\n</lesson>"
        if used + len(block) > QUIZ_BUDGET_CHARS:
            cut = True
            break
        parts.append(block)
        used += len(block)
    note = " (the chapter is long: only its first lessons are included)" if cut else ""
    return (f"Quiz me on Chapter {chapter.number}: {chapter.title}{note}. Ask {questions} questions, one at a time, "
            f"mixing recall and understanding; wait for my answer before the next, tell me whether it was right "
            f"citing the lesson it comes from, and give my score at the end. Use only the lessons below.\n\n"
            + "\n\n".join(parts) + "\n")
