"""Pure core: parse curriculum.md and the docs/ tree into a Book and validate it (no DB, no network)."""

from bookctl.curriculum.model import Book, Chapter, Lesson, Part

__all__ = ["Book", "Chapter", "Lesson", "Part", "book_slug", "load_book", "parse_book"]


def __getattr__(name: str):
    # The loader (and the YAML parser it imports) only when asked for: a no-op `embed` reads the outline
    # through bookctl.curriculum.outline and must not pay for importing the rest.
    if name in ("book_slug", "load_book", "parse_book"):
        from bookctl.curriculum import loader

        return getattr(loader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
