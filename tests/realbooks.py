"""The six real Docusaurus books in ../shared/fixtures/real-books (read-only test data, never edited)."""

from __future__ import annotations

from pathlib import Path

REAL_BOOKS = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "real-books"


def real_book_sites() -> dict[str, Path]:
    """name -> the Docusaurus site folder (the one holding docs/), as each SOURCE.txt names it."""
    out: dict[str, Path] = {}
    if not REAL_BOOKS.is_dir():
        return out
    for book in sorted(p for p in REAL_BOOKS.iterdir() if (p / "SOURCE.txt").is_file()):
        site = "."
        for line in (book / "SOURCE.txt").read_text(encoding="utf-8").splitlines():
            if line.startswith("docusaurus site:"):
                site = line.split(":", 1)[1].strip() or "."
        out[book.name] = (book / site).resolve()
    return out
