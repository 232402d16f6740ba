"""Fill a Book from the docs/ tree alone (no curriculum.md): see `tree.py` for the rules."""

from __future__ import annotations

from bookctl.curriculum.docs import read_lesson
from bookctl.curriculum.model import Book, Lesson
from bookctl.curriculum.routes import doc_id
from bookctl.curriculum.tree import Doc, outline_from_tree, scan_tree
from bookctl.errors import Problem

DOCS = "docs"


def read_tree(book: Book, route_base: str, problems: list[Problem]) -> None:
    docs = book.root / DOCS
    tree = scan_tree(book.root, docs, problems)
    outline = outline_from_tree(tree)
    book.parts = outline.parts
    book.mapping = outline.mapping
    for number, doc in enumerate(outline.book_pages, start=1):
        lesson = _lesson(book, doc, route_base, problems, number, "index")
        book.pages.append(lesson)
    if not book.title:
        book.title = _book_title(book)
    if not outline.parts and not book.pages:
        problems.append(Problem(DOCS, 0, f"no .md or .mdx files in {docs}: nothing to publish"))
    for part in book.parts:
        if (index := outline.part_index.get(part.number)) is not None:
            page = _lesson(book, index, route_base, problems, 0, "index")
            page.part_number = part.number
            part.pages.append(page)
        for chapter in part.chapters:
            chapter_page = outline.chapter_index.get(chapter.number)
            for number, doc in enumerate(outline.chapter_docs[chapter.number], start=1):
                lesson = _lesson(book, doc, route_base, problems, number, "index" if doc is chapter_page else None)
                lesson.part_number, lesson.chapter_number = part.number, chapter.number
                chapter.lessons.append(lesson)


def _lesson(book: Book, doc: Doc, route_base: str, problems: list[Problem], number: int, kind: str | None) -> Lesson:
    lesson = read_lesson(book.root, book.root / doc.path, "", route_base, problems)
    rel = doc.path.relative_to(DOCS)
    front_id = doc.meta.get("id") if isinstance(doc.meta.get("id"), str) and "/" not in doc.meta["id"] else None
    # The Docusaurus doc id is unique in a site, so it is the lesson's slug (lower case, as slugs are).
    lesson.slug = doc_id([*rel.parts[:-1], rel.stem], front_id).lower()
    lesson.number = number
    if not doc.meta.get("type"):
        if kind:
            lesson.type = kind
        elif lesson.type == "index":  # an index.md deep inside a chapter is a lesson of that chapter
            lesson.type = "lesson"
    if doc.meta.get("unlisted") is True:
        lesson.unlisted = True
    return lesson


def _book_title(book: Book) -> str:
    for page in book.pages:
        if page.title:
            return page.title
    return book.root.resolve().name
