"""Which database row is which lesson, across an edit: identity follows the editor's intent.

A lesson's slug (`chapter/name`, from its file name or front-matter `id`) is its identity. A row whose
slug is still in the book is that lesson, whatever else changed (its route may move: front-matter
`slug`, a chapter folder moved to another part, two lessons swapping routes), with one exception:

  0. bodies exchanged among existing slugs: two (or more) files swapped names, so each unchanged body now
     sits at another lesson's slug and every one of those slugs holds another's body (a closed cycle).
     Each row follows its body: the lessons swapped URLs, they did not swap text.

A lesson whose slug is new is matched to a row that left the book when it is recognisably the same lesson,
by these rules in order:

  1. the same file (`source_path`): `id:` was added to or changed in its front matter;
  2. the same route: its file was renamed (or given an `id:`) but its front-matter `slug:` kept the URL;
     (neither 1 nor 2 pairs a row with a lesson whose body is exactly another vacated row's: rule 3 does)
  3. the same body (content hash), when exactly one vacated row and one new lesson share it: the file
     was renamed or its chapter folder moved, without edits;
  4. the same chapter and number with written/planned flipped: a file appeared for an outline bullet,
     or a file was deleted while its bullet stayed.

A matched row keeps its id, so learners' progress, variants and chunks stay attached. Anything not
matched is a removed lesson and a created one. The rules are pure (no DB access): `sync` applies them.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from bookctl.curriculum.model import Lesson
from bookctl.db import models as m


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class Move:
    """A lesson whose route changes (same identity) or a route that disappears with no successor."""

    slug: str
    title: str
    old_route: str
    new_route: str | None  # None: removed
    source: str | None  # the lesson's file (new file for a move, old file for a removal)
    old_slug: str | None = None  # set when the identity was matched under another slug

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def match_rows(rows: dict[str, m.Lesson], lessons: list[Lesson]) -> dict[str, str]:
    """Re-key `rows` (slug -> row) so that each lesson's row is found under its new slug.

    Returns {new slug: old slug} for every row that was re-keyed.
    """
    renamed: dict[str, str] = {}
    exchanged = _exchanged_bodies(rows, lessons)
    held = {slug: rows[slug] for slug in exchanged}
    for slug, target in exchanged.items():
        rows[target] = held[slug]
        renamed[target] = slug
    in_book = {lesson.slug for lesson in lessons}
    vacated = [row for slug, row in rows.items() if row.removed_at is None and slug not in in_book]
    unmatched = [lesson for lesson in lessons if lesson.slug not in rows]
    if not vacated or not unmatched:
        return renamed

    def take(lesson: Lesson, row: m.Lesson) -> None:
        renamed[lesson.slug] = row.slug
        rows[lesson.slug] = rows.pop(row.slug)
        vacated.remove(row)
        unmatched.remove(lesson)

    hashes = {id(l): body_hash(l.body) for l in unmatched if l.status == "written"}
    lesson_counts = Counter(hashes.values())
    row_counts = Counter(r.content_hash for r in vacated if r.content_hash)

    def exactly_another(lesson: Lesson, row: m.Lesson) -> bool:
        """The lesson is, byte for byte, another vacated row's body (one of each): rule 3 pairs them. Two
        files that exchanged places keep their bodies, whatever file or URL each now has."""
        digest = hashes.get(id(lesson))
        return (digest is not None and digest != row.content_hash and lesson_counts[digest] == 1
                and row_counts[digest] == 1)

    for key_of_row, key_of_lesson in (
        (lambda r: r.source_path, lambda l: l.source.as_posix() if l.source else None),
        (lambda r: r.route, lambda l: l.route),
    ):
        by_key = {key_of_row(r): r for r in vacated if key_of_row(r)}
        for lesson in list(unmatched):
            row = by_key.pop(key_of_lesson(lesson), None) if key_of_lesson(lesson) else None
            if row is not None and row in vacated and not exactly_another(lesson, row):
                take(lesson, row)

    by_hash = {r.content_hash: r for r in vacated if r.content_hash and row_counts[r.content_hash] == 1}
    for lesson in list(unmatched):
        digest = hashes.get(id(lesson))
        if digest is not None and lesson_counts[digest] == 1 and digest in by_hash:
            take(lesson, by_hash.pop(digest))

    flipped = {"written": "planned", "planned": "written"}
    by_place = {(r.slug.rsplit("/", 1)[0], r.number, r.status): r for r in vacated if "/" in r.slug}
    for lesson in list(unmatched):
        if "/" not in lesson.slug or lesson.status not in flipped:
            continue
        row = by_place.pop((lesson.slug.rsplit("/", 1)[0], lesson.number, flipped[lesson.status]), None)
        if row is not None:
            take(lesson, row)
    return renamed


def _exchanged_bodies(rows: dict[str, m.Lesson], lessons: list[Lesson]) -> dict[str, str]:
    """Rule 0: {slug whose row moves: the slug its unchanged body is at now}, closed cycles only.

    Only exact, unambiguous evidence counts: a body found once in the book and once among the rows, no longer
    at its own slug, at a slug whose own row's body also moved away. A file copied elsewhere and rewritten in
    place is not a cycle (its slug keeps its row, rules 1-4 see the copy)."""
    hashes = {lesson.slug: body_hash(lesson.body) for lesson in lessons if lesson.status == "written"}
    counts = Counter(hashes.values())
    slug_of = {digest: slug for slug, digest in hashes.items() if counts[digest] == 1}
    live = {slug: row for slug, row in rows.items()
            if row.removed_at is None and row.status == "written" and row.content_hash and slug in hashes}
    row_counts = Counter(row.content_hash for row in live.values())
    moves = {slug: slug_of[row.content_hash] for slug, row in live.items()
             if row.content_hash != hashes[slug] and row_counts[row.content_hash] == 1
             and slug_of.get(row.content_hash, slug) != slug and slug_of[row.content_hash] in live}
    # Keep the closed cycles: drop every move whose target's row stays put, until none is left. (Row hashes
    # are unique, so the targets are distinct and what remains is a permutation of its slugs.)
    while True:
        open_ends = [slug for slug, target in moves.items() if target not in moves]
        if not open_ends:
            return moves
        for slug in open_ends:
            del moves[slug]


def route_changes(rows: dict[str, m.Lesson], lessons: list[Lesson], gone: list[m.Lesson],
                  renamed: dict[str, str]) -> tuple[list[Move], list[Move]]:
    """(moved, removed), comparing the routes the rows hold with the routes the book will give them.

    Call after `match_rows`. A route that another lesson takes over still answers, so it is not removed.
    """
    new_routes = {lesson.route for lesson in lessons if lesson.route}
    moved: list[Move] = []
    removed: list[Move] = []
    for lesson in lessons:
        row = rows.get(lesson.slug)
        if row is None or row.removed_at is not None or not row.route or row.route == lesson.route:
            continue
        source = lesson.source.as_posix() if lesson.source else row.source_path
        if lesson.route:
            moved.append(Move(lesson.slug, lesson.title, row.route, lesson.route, source, renamed.get(lesson.slug)))
        elif row.route not in new_routes:  # written -> planned: the page is gone, the outline bullet stays
            removed.append(Move(lesson.slug, lesson.title, row.route, None, row.source_path))
    for row in gone:
        if row.route and row.route not in new_routes:
            removed.append(Move(row.slug, row.title, row.route, None, row.source_path))
    return sorted(moved, key=lambda x: x.old_route), sorted(removed, key=lambda x: x.old_route)
