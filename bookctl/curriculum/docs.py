"""Read one lesson file of the docs/ tree into a Lesson (front matter checked, body kept)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bookctl.curriculum.frontmatter import key_line, split_front_matter
from bookctl.curriculum.model import LESSON_TYPES, Lesson
from bookctl.curriculum.routes import doc_route, route_under, strip_number_prefix
from bookctl.curriculum.safety import nul_problem, read_source
from bookctl.errors import Problem

LAYER_RE = re.compile(r"^L[1-9](?:-L[1-9])?$")
H1_RE = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)
WORDS_PER_MINUTE = 220


def lesson_slug(prefix: str, name: str) -> str:
    """`what-is-physical-ai` + `02-Lesson-Embodiment` -> `what-is-physical-ai/lesson-embodiment`."""
    name = strip_number_prefix(name)
    return (f"{prefix}/{name}" if prefix else name).lower()


def guess_type(stem: str) -> str:
    name = strip_number_prefix(stem).lower()
    if name in ("index", "readme"):
        return "index"
    if name == "lab" or name.startswith(("lab-", "lab_")) or name.endswith(("-lab", "_lab")):
        return "lab"
    if "summary" in name:
        return "summary"
    return "lesson"


def read_lesson(book_root: Path, file: Path, slug_prefix: str, route_base: str, problems: list[Problem]) -> Lesson:
    """Parse one markdown file; every problem found is appended to `problems` with file:line."""
    rel = file.relative_to(book_root)
    path = rel.as_posix()
    raw = read_source(book_root, file, path, problems)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.append(Problem(path, line, "not valid UTF-8: save the file as UTF-8"))
        text = raw.decode("utf-8", errors="replace")
    text = text.removeprefix("\ufeff")
    if (nul := nul_problem(text, path)) is not None:
        problems.append(nul)
        text = text.replace("\x00", "")
    meta, body_line, fm_problems = split_front_matter(text, path)
    problems.extend(fm_problems)
    body = "\n".join(text.split("\n")[body_line - 1:]) if body_line > 1 else text

    def bad(key: str, message: str) -> None:
        problems.append(Problem(path, key_line(text, key), message))

    stem = file.stem
    lesson_type = meta.get("type") or guess_type(stem)
    if lesson_type not in LESSON_TYPES:
        bad("type", f"type {lesson_type!r} is not one of {', '.join(LESSON_TYPES)}")
        lesson_type = guess_type(stem)

    title = meta.get("title")
    if title is None:
        h1 = H1_RE.search(body)
        title = h1.group(1) if h1 else None
    if not isinstance(title, (str, int, float)) or not str(title).strip():
        if not fm_problems:  # an unreadable front matter is already reported; its title is not "empty"
            bad("title", "empty title: add 'title: …' to the front matter or a '# Heading' to the body")
        title = strip_number_prefix(stem)
    custom_id = meta.get("id")
    if custom_id is not None and (not isinstance(custom_id, str) or not custom_id.strip() or "/" in custom_id):
        bad("id", f"id {custom_id!r} must be a non-empty name without '/'")
        custom_id = None
    front_slug = meta.get("slug")
    if front_slug is not None and (not isinstance(front_slug, str) or not front_slug.strip()):
        bad("slug", "slug must be a non-empty string such as '/intro' or 'my-page'")
        front_slug = None

    route = doc_route(route_base, [*rel.parts[1:-1], rel.stem], front_slug, custom_id)
    if not route_under(route_base, route):
        bad("slug", f"slug {front_slug!r} leads to {route}, outside the book's routes ({route_base or '/'}): "
                    "use a path such as 'my-page' or '/chapter/my-page'")
        route = doc_route(route_base, [*rel.parts[1:-1], rel.stem], None, custom_id)
    return Lesson(
        slug=lesson_slug(slug_prefix, custom_id.strip() if custom_id else strip_number_prefix(stem)),
        title=str(title).strip(),
        type=lesson_type,
        status="written",
        number=0,
        route=route,
        source=rel,
        source_line=1,
        body=raw,  # the file exactly as written (front matter included), so the hash is of the file itself
        layer=_layer(meta, text, problems, path),
        tags=_tags(meta, text, problems, path),
        estimated_minutes=_minutes(meta, text, body, problems, path),
        sidebar_position=_number(meta, "sidebar_position", text, problems, path),
        description=str(meta["description"]) if meta.get("description") is not None else None,
        prerequisite_refs=_refs(meta, text, problems, path),
        prerequisites_line=key_line(text, "prerequisites"),
    )


def _layer(meta: dict[str, Any], text: str, problems: list[Problem], path: str) -> str | None:
    value = meta.get("layer")
    if value is None:
        return None
    layer = re.sub(r"\s*[-–]\s*", "-", str(value).strip().upper())
    if not LAYER_RE.match(layer):
        problems.append(Problem(path, key_line(text, "layer"), f"layer {value!r} is not L1..L9 or a range like 'L2-L3'"))
        return None
    return layer


def _tags(meta: dict[str, Any], text: str, problems: list[Problem], path: str) -> list[str]:
    value = meta.get("tags")
    if value is None:
        return []
    if isinstance(value, str):
        value = [t for t in (s.strip() for s in value.split(",")) if t]
    if not isinstance(value, list) or not all(isinstance(t, (str, int)) and str(t).strip() for t in value):
        problems.append(Problem(path, key_line(text, "tags"), "tags must be a list of words, e.g. tags: [sensors, hardware]"))
        return []
    return [str(t).strip().lower() for t in value]


def _minutes(meta: dict[str, Any], text: str, body: str, problems: list[Problem], path: str) -> int:
    value = meta.get("estimated_minutes")
    if value is None:
        return max(1, round(len(body.split()) / WORDS_PER_MINUTE))
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 600:
        problems.append(Problem(path, key_line(text, "estimated_minutes"), f"estimated_minutes {value!r} must be a whole number of minutes from 1 to 600"))
        return max(1, round(len(body.split()) / WORDS_PER_MINUTE))
    return value


def _number(meta: dict[str, Any], key: str, text: str, problems: list[Problem], path: str) -> float | None:
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        problems.append(Problem(path, key_line(text, key), f"{key} {value!r} must be a number"))
        return None
    return value


def _refs(meta: dict[str, Any], text: str, problems: list[Problem], path: str) -> list[str]:
    value = meta.get("prerequisites")
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append(Problem(path, key_line(text, "prerequisites"), "prerequisites must be a list of lesson slugs or file paths"))
        return []
    return [v.strip() for v in value]
