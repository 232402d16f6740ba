"""Split a markdown file into its YAML front matter and body, with line numbers for errors."""

from __future__ import annotations

import re
from typing import Any

import yaml

from bookctl.errors import Problem

try:  # libyaml is ~10x faster; a no-op sync of a large book parses every file's front matter
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - pure-python fallback
    _Loader = yaml.SafeLoader


# A leading '---' line, anything, then a closing '---' or '...' line. One definition for every reader of
# synced lesson bodies (search chunks, LLM input, the content API); parsing the YAML is split_front_matter's job.
_BLOCK = re.compile(r"\A(?:\ufeff)?---[ \t]*\r?\n(?:.*?\r?\n)??(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)


def split_block(markdown: str) -> tuple[str, str]:
    """(the front matter block exactly as written, the body); ('', markdown) when there is none."""
    match = _BLOCK.match(markdown)
    return (markdown[:match.end()], markdown[match.end():]) if match else ("", markdown)


def strip_front_matter(markdown: str) -> str:
    """The markdown a learner reads: the lesson without its front matter."""
    return split_block(markdown)[1]


def split_front_matter(text: str, path: str) -> tuple[dict[str, Any], int, list[Problem]]:
    """Return (front matter mapping, line where the body starts, problems)."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, 1, []
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            break
    else:
        return {}, 1, [Problem(path, 1, "front matter opened with '---' is never closed: add a '---' line after it")]
    block = "\n".join(lines[1:index])
    try:
        data = yaml.load(block, Loader=_Loader) if block.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = 2 + mark.line if mark is not None else 1
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return {}, index + 2, [Problem(path, line, f"front matter is not valid YAML: {reason}")]
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return {}, index + 2, [Problem(path, 2, "front matter must be a mapping of 'key: value' lines")]
    return {str(k): v for k, v in data.items()}, index + 2, []


def key_line(text: str, key: str) -> int:
    """The line of `key:` inside the front matter (1 if not found), so messages can point at it."""
    for lineno, line in enumerate(text.split("\n")[:200], start=1):
        if line.startswith(f"{key}:"):
            return lineno
    return 1
