"""Pure core: parse curriculum.md and the docs/ tree into a Book and validate it (no DB, no network)."""

from bookctl.curriculum.loader import book_slug, load_book, parse_book
from bookctl.curriculum.model import Book, Chapter, Lesson, Part

__all__ = ["Book", "Chapter", "Lesson", "Part", "book_slug", "load_book", "parse_book"]
