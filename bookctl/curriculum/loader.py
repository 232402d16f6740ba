"""Load a whole book: the outline plus the docs/ tree, reconciled into one Book."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from bookctl.curriculum.docs import lesson_slug, read_lesson
from bookctl.curriculum.model import Book, Chapter, Lesson, Part
from bookctl.curriculum.outline import OUTLINE_NAME, book_slug, parse_outline
from bookctl.curriculum.routes import number_prefix, slugify, strip_number_prefix
from bookctl.curriculum.validate import validate_book
from bookctl.errors import ContentError, Problem

OUTLINE = OUTLINE_NAME
DOCS = "docs"
DOC_SUFFIXES = (".md", ".mdx")


def load_book(root: Path | str, route_base: str = "/docs", slug: str | None = None) -> tuple[Book, list[Problem]]:
    """Parse and validate the book at `root`. Never raises for bad content: problems are returned."""
    root = Path(root)
    problems: list[Problem] = []
    outline_file = root / OUTLINE
    if not outline_file.is_file():
        problems.append(Problem(OUTLINE, 0, f"no {OUTLINE} in {root}: point --book (or BOOKCTL_BOOK) at the book's folder"))
        return Book(slug=slug or slugify(root.resolve().name), title="", root=root), problems
    try:
        text = outline_file.read_text(encoding="utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        problems.append(Problem(OUTLINE, 1, "not valid UTF-8: save the file as UTF-8"))
        text = outline_file.read_bytes().decode("utf-8", errors="replace")
    fields, parts, outline_problems = parse_outline(text, OUTLINE)
    problems.extend(outline_problems)
    title = fields.get("title", "")
    book = Book(
        slug=slug or slugify(fields.get("slug") or title or root.resolve().name), title=title, root=root, parts=parts,
        description=fields.get("description"), version=fields.get("version"),
    )
    _read_docs(book, route_base, problems)
    validate_book(book, problems)
    return book, sorted(set(problems))


def parse_book(root: Path | str, route_base: str = "/docs", slug: str | None = None) -> tuple[Book, list[Problem]]:
    """Like load_book, but raise ContentError when the book has errors (warnings are returned)."""
    book, problems = load_book(root, route_base, slug)
    if any(p.severity == "error" for p in problems):
        raise ContentError(problems)
    return book, problems


def _md_files(folder: Path) -> list[Path]:
    # Docusaurus ignores files and folders starting with '_' (partials); so do we.
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in DOC_SUFFIXES and not p.name.startswith("_"))


def _subfolders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def _read_docs(book: Book, route_base: str, problems: list[Problem]) -> None:
    docs = book.root / DOCS
    if not docs.is_dir():
        problems.append(Problem(DOCS, 0, f"no {DOCS}/ folder in {book.root}: create it with the lesson files", "warning"))
        return
    part_folders = {p.folder: p for p in book.parts if p.folder}
    claimed: set[str] = set()
    for part in book.parts:
        folder = docs / part.folder if part.folder else None
        if folder is None or not folder.is_dir():
            _plan_missing_part(book, part, docs, part_folders, problems)
            continue
        part.exists = True
        claimed.add(part.folder)
        _read_part(book, part, folder, route_base, problems)
    # Book-level pages: top-level files and every folder the outline does not claim (course-overview/).
    pages = _md_files(docs)
    for sub in _subfolders(docs):
        if sub.name not in claimed:
            pages.extend(sorted(p for p in sub.rglob("*") if p.suffix in DOC_SUFFIXES and not p.name.startswith("_")))
    for number, file in enumerate(pages, start=1):
        rel = file.relative_to(docs)
        prefix = "/".join(strip_number_prefix(p) for p in rel.parts[:-1])
        lesson = read_lesson(book.root, file, prefix, route_base, problems)
        lesson.number = number
        if lesson.type == "lesson":
            lesson.type = "index"  # book-level pages (intro, course overview) introduce; they are not course lessons
        book.pages.append(lesson)


def _plan_missing_part(book: Book, part: Part, docs: Path, part_folders: dict, problems: list[Problem]) -> None:
    others = [p.name for p in _subfolders(docs) if p.name not in part_folders]
    close = difflib.get_close_matches(part.folder, others, n=1, cutoff=0.75) if part.folder else []
    if close:
        problems.append(Problem(OUTLINE, part.line, f"Part {part.number} folder docs/{part.folder}/ does not exist; did you mean docs/{close[0]}/?"))
    elif part.folder:
        problems.append(Problem(OUTLINE, part.line, f"Part {part.number} folder docs/{part.folder}/ does not exist yet: its chapters are planned", "info"))
    for chapter in part.chapters:
        _plan_topics(chapter, part, 0)


def _read_part(book: Book, part: Part, folder: Path, route_base: str, problems: list[Problem]) -> None:
    part_prefix = strip_number_prefix(part.folder).lower()
    for file in _md_files(folder):
        lesson = read_lesson(book.root, file, part_prefix, route_base, problems)
        lesson.part_number = part.number
        lesson.number = number_prefix(file.stem) or 0
        lesson.layer = lesson.layer or part.layer
        part.pages.append(lesson)
    chapter_folders = {c.folder: c for c in part.chapters if c.folder}
    unclaimed = [p.name for p in _subfolders(folder) if p.name not in chapter_folders]
    for name in unclaimed:
        problems.append(Problem((folder / name).relative_to(book.root).as_posix(), 0,
                                f"folder is not a chapter of Part {part.number} in {OUTLINE}: its files are not published by bookctl", "warning"))
    for chapter in part.chapters:
        chapter_dir = folder / chapter.folder if chapter.folder else None
        if chapter_dir is None or not chapter_dir.is_dir():
            # Not written yet (planned) — editors write a part chapter by chapter, and git keeps no empty
            # folder for the rest — unless a folder the outline does not claim says it names the wrong one.
            close = difflib.get_close_matches(chapter.folder, unclaimed, n=1, cutoff=0.6) if chapter.folder else []
            where = f"docs/{part.folder}/{chapter.folder}/"
            if close or (chapter.folder and unclaimed):
                hint = f"did you mean {close[0]}/?" if close else f"the part has unclaimed folders: {', '.join(unclaimed)}"
                problems.append(Problem(OUTLINE, chapter.line, f"Chapter {chapter.number} folder {where} does not exist; {hint}"))
            elif chapter.folder:
                problems.append(Problem(OUTLINE, chapter.line, f"Chapter {chapter.number} folder {where} does not exist yet: its lessons are planned", "info"))
            _plan_topics(chapter, part, 0)
            continue
        chapter.exists = True
        _read_chapter(book, part, chapter, chapter_dir, route_base, problems)


def _read_chapter(book: Book, part: Part, chapter: Chapter, folder: Path, route_base: str, problems: list[Problem]) -> None:
    prefix = strip_number_prefix(chapter.folder).lower()
    files = [read_lesson(book.root, f, prefix, route_base, problems) for f in _md_files(folder)]
    for lesson in files:
        lesson.number = number_prefix(lesson.source.stem) or 0
    index_pages = [f for f in files if f.type == "index"]
    content = [f for f in files if f.type != "index"]
    by_number: dict[int, Lesson] = {}
    for lesson in content:
        if lesson.number and lesson.number in by_number:
            problems.append(Problem(lesson.source.as_posix(), 1, f"two files share the number prefix {lesson.number:02d} in this chapter (also {by_number[lesson.number].source.name})", "warning"))
        by_number.setdefault(lesson.number, lesson)
    matched: list[Lesson] = []
    matched_ids: set[int] = set()  # by identity: dataclass == would compare every field, bodies included
    planned_numbers = []
    for position, (topic, lineno) in enumerate(chapter.topics, start=1):
        # The n-th outline bullet is the file numbered n; failing that, a file whose name matches the topic.
        lesson = by_number.get(position) or _match_by_name(topic, [c for c in content if id(c) not in matched_ids])
        if lesson is not None and id(lesson) not in matched_ids:
            lesson.outline_title = topic
            matched.append(lesson)
            matched_ids.add(id(lesson))
        else:
            planned_numbers.append((position, topic, lineno))
    for lesson in content:
        if id(lesson) not in matched_ids and chapter.topics:
            problems.append(Problem(lesson.source.as_posix(), 1, f"not listed in Chapter {chapter.number}'s outline in {OUTLINE}; published as an extra lesson", "warning"))
    chapter.lessons = sorted(index_pages, key=lambda l: l.slug) + sorted(content, key=lambda l: (l.number, l.slug))
    for position, topic, lineno in planned_numbers:
        chapter.lessons.append(_planned(chapter, part, topic, lineno, position))
    for lesson in chapter.lessons:
        lesson.part_number, lesson.chapter_number = part.number, chapter.number
        lesson.layer = lesson.layer or part.layer


def _match_by_name(topic: str, candidates: list[Lesson]) -> Lesson | None:
    wanted = slugify(re.sub(r"\(.*?\)", "", topic))
    for lesson in candidates:
        names = {slugify(lesson.title), lesson.slug.rsplit("/", 1)[-1], lesson.slug.rsplit("/", 1)[-1].removeprefix("lesson-")}
        if wanted in names:
            return lesson
    return None


def _plan_topics(chapter: Chapter, part: Part, start: int) -> None:
    for position, (topic, lineno) in enumerate(chapter.topics, start=start + 1):
        chapter.lessons.append(_planned(chapter, part, topic, lineno, position))
    for lesson in chapter.lessons:
        lesson.part_number, lesson.chapter_number = part.number, chapter.number


def _planned(chapter: Chapter, part: Part, topic: str, lineno: int, position: int) -> Lesson:
    kind = "lab" if re.match(r"^lab\b", topic, re.IGNORECASE) else "lesson"
    prefix = strip_number_prefix(chapter.folder).lower() if chapter.folder else f"chapter-{chapter.number}"
    return Lesson(
        slug=lesson_slug(prefix, slugify(topic)), title=topic, type=kind, status="planned", number=position,
        source_line=lineno, outline_title=topic, layer=part.layer,
    )
