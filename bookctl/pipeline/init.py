"""`bookctl init`: write a curriculum.md from the book's docs/ tree (never over an existing one without force)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bookctl.curriculum import load_book
from bookctl.curriculum.init import render_outline
from bookctl.curriculum.outline import OUTLINE_NAME
from bookctl.errors import ContentError, UsageError


def init(book_dir: Path, route_base: str = "/docs", slug: str | None = None, force: bool = False) -> dict[str, Any]:
    target = Path(book_dir) / OUTLINE_NAME
    if target.exists() and not force:
        raise UsageError(f"{target} already exists: bookctl init never overwrites it (pass --force to replace it "
                         "with an outline written from the docs/ tree)")
    if not (Path(book_dir) / "docs").is_dir():
        raise UsageError(f"no docs/ folder in {book_dir}: point --book at the Docusaurus site folder that holds docs/")
    if target.exists():
        # Read the tree as if there were no outline: the file is being replaced by what the tree says.
        from bookctl.curriculum.model import Book
        from bookctl.curriculum.tree_loader import read_tree
        from bookctl.curriculum.validate import validate_book
        from bookctl.curriculum.routes import slugify

        book = Book(slug=slug or slugify(Path(book_dir).resolve().name), title="", root=Path(book_dir), outline_source="docs tree")
        problems: list = []
        read_tree(book, route_base, problems)
        validate_book(book, problems)
    else:
        book, problems = load_book(book_dir, route_base, slug)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ContentError(errors)
    text = render_outline(book)
    target.write_text(text, encoding="utf-8")
    return {"book": book.slug, "path": str(target), "parts": len(book.parts), "chapters": len(book.all_chapters()),
            "lessons": len(book.all_lessons()), "overwritten": force}
