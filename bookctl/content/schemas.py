"""msgspec schemas of the book as the API serves it."""

from __future__ import annotations

import uuid

from msgspec import Struct


class LessonSummary(Struct):
    id: uuid.UUID
    slug: str
    route: str | None
    title: str
    type: str
    status: str  # planned | written
    layer: str | None
    number: int
    position: int
    estimated_minutes: int | None
    tags: list[str]


class Chapter(Struct):
    id: uuid.UUID
    number: int
    local_number: int
    part_number: int
    title: str
    description: str | None
    folder_name: str
    prerequisites: list[int]  # chapter numbers
    lessons: list[LessonSummary]


class Part(Struct):
    id: uuid.UUID
    number: int
    title: str
    description: str | None
    layer: str
    tier: str | None
    week_start: int | None
    week_end: int | None
    pages: list[LessonSummary]  # part-level pages (intro, summary)
    chapters: list[Chapter]


class PartSummary(Struct):
    number: int
    title: str
    description: str | None
    layer: str
    tier: str | None
    week_start: int | None
    week_end: int | None
    chapters: int
    lessons: int
    written: int


class BookCounts(Struct):
    parts: int
    chapters: int
    lessons: int
    written: int
    planned: int


class Book(Struct):
    slug: str
    title: str
    description: str | None
    version: str | None
    counts: BookCounts
    pages: list[LessonSummary]  # book-level pages
    parts: list[Part]


class Lesson(Struct):
    id: uuid.UUID
    slug: str
    route: str | None
    title: str
    type: str
    status: str
    layer: str | None
    number: int
    position: int
    estimated_minutes: int | None
    tags: list[str]
    description: str | None
    part_number: int | None
    chapter_number: int | None
    prerequisites: list[str]  # lesson slugs
    content_hash: str | None
    has_content: bool
    previous: str | None  # slug of the previous written lesson in reading order
    next: str | None  # slug of the next written lesson in reading order


class LessonContent(Struct):
    slug: str
    route: str | None
    title: str
    content_hash: str | None
    format: str
    content: str
