"""Everything the database would refuse, found before anything is written (`check` reports it too).

PostgreSQL refuses a NUL character in text and JSON, and a string longer than its VARCHAR; SQLite takes
both. Integers must fit their column. The limits are read from the ORM columns, so they cannot drift from
the schema. Each refusal is a Problem at the file:line that produced the value.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Column, Float, Integer, String

from bookctl.curriculum.model import Book
from bookctl.curriculum.outline import OUTLINE_NAME
from bookctl.db import models as m
from bookctl.errors import Problem

INT32 = 2**31 - 1
# Lesson values sync cuts to the column on purpose (a long title is shown shortened, not refused).
_TRUNCATED = {(m.Lesson.__tablename__, "title"), (m.Lesson.__tablename__, "outline_title")}

_BOOK = {"slug": "slug", "title": "title", "description": "description", "version": "version"}
_PART = {"number": "number", "title": "title", "focus": "description", "layer": "layer", "tier": "tier",
         "folder": "folder_name", "week_start": "week_start", "week_end": "week_end",
         "transition_check": "transition_check"}
_CHAPTER = {"number": "number", "local_number": "local_number", "title": "title", "folder": "folder_name",
            "transition_check": "transition_check"}
_LESSON = {"slug": "slug", "title": "title", "outline_title": "outline_title", "route": "route", "type": "type",
           "layer": "layer", "description": "description", "number": "number", "tags": "tags",
           "sidebar_position": "sidebar_position", "estimated_minutes": "estimated_minutes"}


def storable_problems(book: Book, bucket_paths: dict[str, str] | None = None) -> list[Problem]:
    """Problems for every value of `book` the database cannot store as it is.

    `bucket_paths` maps lesson slug -> object key, when the caller knows the keys (sync does).
    """
    problems: list[Problem] = []
    _check(problems, m.Book, _BOOK, book, OUTLINE_NAME, 1)
    for part in book.parts:
        _check(problems, m.Part, _PART, part, OUTLINE_NAME, part.line)
        for chapter in part.chapters:
            _check(problems, m.Chapter, _CHAPTER, chapter, OUTLINE_NAME, chapter.line)
    for lesson in book.all_lessons():
        path, line = (lesson.source.as_posix(), 1) if lesson.source else (OUTLINE_NAME, lesson.source_line)
        _check(problems, m.Lesson, _LESSON, lesson, path, line)
        if lesson.source is not None:
            _value(problems, m.Lesson.__table__.c.source_path, lesson.source.as_posix(), path, line, "file path")
        if bucket_paths and lesson.slug in bucket_paths:
            _value(problems, m.Lesson.__table__.c.bucket_path, bucket_paths[lesson.slug], path, line, "object key")
    return sorted(set(problems))


def _check(problems: list[Problem], model: Any, fields: dict[str, str], obj: Any, path: str, line: int) -> None:
    columns = model.__table__.c
    for attr, column_name in fields.items():
        _value(problems, columns[column_name], getattr(obj, attr), path, line, attr)


def _value(problems: list[Problem], column: Column, value: Any, path: str, line: int, what: str) -> None:
    if value is None:
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _value(problems, column, item, path, line, what)
        return
    kind = column.type
    if isinstance(value, str):
        if "\x00" in value:
            problems.append(Problem(path, line, f"{what} contains a NUL character (\\0): remove it"))
        limit = getattr(kind, "length", None) if isinstance(kind, String) else None
        if limit and len(value) > limit and (column.table.name, column.name) not in _TRUNCATED:
            problems.append(Problem(path, line, f"{what} is {len(value)} characters long; at most {limit} fit: "
                                                f"shorten it ({value[:60]!r}…)"))
    elif isinstance(value, bool):
        return
    elif isinstance(value, int) and isinstance(kind, (Integer, Float)):
        if isinstance(kind, Integer) and abs(value) > INT32:
            problems.append(Problem(path, line, f"{what} {value} is too large (at most {INT32})"))
        elif isinstance(kind, Float) and abs(value) > 1e300:
            problems.append(Problem(path, line, f"{what} {value} is too large for a number"))
    elif isinstance(value, float) and not math.isfinite(value):
        problems.append(Problem(path, line, f"{what} must be a finite number, not {value}"))
