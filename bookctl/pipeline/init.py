"""`bookctl init`: write a curriculum.md from the book's docs/ tree (never over an existing one without force)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bookctl.curriculum.loader import book_slug, load_tree_book
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
    existed = target.exists()
    # Always from the tree: with --force, the file being replaced must not shape its replacement, except for
    # the book's slug, which it keeps (the database knows the book by it).
    book, problems = load_tree_book(book_dir, route_base, slug or (book_slug(book_dir) if existed else None))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ContentError(errors)
    text = render_outline(book)
    target.write_text(text, encoding="utf-8")
    return {"book": book.slug, "path": str(target), "parts": len(book.parts), "chapters": len(book.all_chapters()),
            "lessons": len(book.all_lessons()), "overwritten": existed}
