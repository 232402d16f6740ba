"""`bookctl init`: write the outline bookctl reads from a docs/ tree down as a `curriculum.md`.

The file lists the same parts, chapters and lessons, in the same order and with the same titles, so the
book checks the same with it as without it; what a tree cannot say (layers, tiers, chapter prerequisites)
is left as commented placeholders for the editor to fill in.
"""

from __future__ import annotations

from bookctl.curriculum.model import Book

HEADER = """<!--
Written by `bookctl init` from the docs/ tree: the same parts, chapters and lessons, in the same order.
Enrich it: uncomment and fill in a **Layer:** (L1..L9, or a range like L2-L3) and a **Tier:** (A1..C2) for each
part, and **Prerequisites:** Chapter N for chapters that build on others. Lines that are not outline syntax
are prose and are ignored, so notes, tables and outcomes may go anywhere.
-->"""


def render_outline(book: Book) -> str:
    lines = [f"# {book.title or book.slug}", "", f"**Slug:** {book.slug}", "", HEADER, ""]
    for part in book.parts:
        lines += [f"## Part {part.number} — {part.title}", f"**Folder:** `{part.folder}/`",
                  "<!-- **Layer:** L1 -->", "<!-- **Tier:** A2 (Beginner) -->", ""]
        for chapter in part.chapters:
            folder = "." if chapter.folder == part.folder.rsplit("/", 1)[-1] and _own_files(chapter, part) else f"{chapter.folder}/"
            lines += [f"### Chapter {chapter.number}: {chapter.title}", f"**Folder:** `{folder}`",
                      "<!-- **Prerequisites:** Chapter 1 -->"]
            topics = [lesson.title for lesson in chapter.lessons if lesson.type != "index"]
            if topics:
                lines.append("**Lessons:**")
                lines += [f"- {title}" for title in topics]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _own_files(chapter, part) -> bool:
    """A chapter made of the part's own files (not a sub-folder): its lessons sit directly in the part folder."""
    return all(l.source is not None and l.source.parent.name == part.folder.rsplit("/", 1)[-1] for l in chapter.lessons)
