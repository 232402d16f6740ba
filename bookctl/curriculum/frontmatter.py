"""Split a markdown file into its YAML front matter and body, with line numbers for errors."""

from __future__ import annotations

import copy
import datetime
import re
from functools import lru_cache
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


# Front matter is a few keys; anything bigger is a mistake or an attack. The bounds are far above any real
# lesson's and far below what hurts: a billion-laughs document is a few hundred bytes that expands to 10^9 nodes.
MAX_FRONT_MATTER_BYTES = 64 * 1024
MAX_YAML_NODES = 10_000  # nodes after expanding every alias
MAX_YAML_DEPTH = 50


def split_front_matter(text: str, path: str) -> tuple[dict[str, Any], int, list[Problem]]:
    """Return (front matter mapping, line where the body starts, problems).

    The block is found by split_block, the same splitter every reader of a synced body uses, so what
    `check` parses as front matter is exactly what search, the LLM and the content API strip.
    """
    block, _body = split_block(text)
    if not block:
        if text.split("\n", 1)[0].rstrip("\r").strip() == "---":
            return {}, 1, [Problem(path, 1, "front matter opened with '---' is never closed: add a '---' line after it")]
        return {}, 1, []
    block_lines = block.split("\n")
    body_line = block.count("\n") + 1 + (0 if block.endswith("\n") else 1)
    # Drop the opening and closing delimiter lines; YAML line 0 is file line 2.
    yaml_text = "\n".join(block_lines[1:-2] if block.endswith("\n") else block_lines[1:-1])
    if len(yaml_text.encode("utf-8", errors="replace")) > MAX_FRONT_MATTER_BYTES:
        return {}, body_line, [Problem(path, 1, f"front matter is larger than {MAX_FRONT_MATTER_BYTES // 1024} KiB: "
                                                "keep it to a few 'key: value' lines")]
    # cached only when small (real front matter is a few hundred bytes): the cache stays under ~16 MB
    data, problem = (_parse_yaml if len(yaml_text) <= 4096 else _parse_yaml.__wrapped__)(yaml_text)
    if problem is not None:
        line, message = problem
        return {}, body_line, [Problem(path, line, message)]
    return _copy(data), body_line, []  # a copy: callers own what they get


def _copy(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """A deep copy of what YAML's safe loader builds (containers copied, scalars shared: they are immutable);
    a tenth of copy.deepcopy's cost on a front matter. Like deepcopy it keeps shared and self-referencing
    containers as they are (`a: &x [*x]` is a list holding itself), through `memo`."""
    if isinstance(value, (str, int, float, bool, bytes, type(None), datetime.date)):
        return value
    if not isinstance(value, (dict, list, set)):
        return copy.deepcopy(value)
    memo = {} if memo is None else memo
    if id(value) in memo:
        return memo[id(value)]
    if isinstance(value, set):
        memo[id(value)] = out = set(value)  # members are hashable, hence immutable here
        return out
    if isinstance(value, list):
        memo[id(value)] = out = []
        out.extend(_copy(v, memo) for v in value)
        return out
    memo[id(value)] = out = {}
    for k, v in value.items():
        out[k] = _copy(v, memo)
    return out


@lru_cache(maxsize=4096)
def _parse_yaml(yaml_text: str) -> tuple[dict[str, Any], tuple[int, str] | None]:
    """(mapping, None) or ({}, (file line, message)). Cached: loading a book reads each file's front matter
    more than once (the sidebar order, then the lesson), and the answer depends on the text alone."""
    try:
        shape_problem = _unsafe_shape(yaml_text)
        if shape_problem is not None:
            line, reason = shape_problem
            return {}, (2 + line, f"front matter is not accepted: {reason}")
        data = yaml.load(yaml_text, Loader=_Loader) if yaml_text.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = 2 + mark.line if mark is not None else 1
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return {}, (line, f"front matter is not valid YAML: {reason}")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return {}, (2, "front matter must be a mapping of 'key: value' lines")
    return {str(k): v for k, v in data.items()}, None


def _unsafe_shape(yaml_text: str) -> tuple[int, str] | None:
    """(line, reason) when the YAML would nest too deep or expand past MAX_YAML_NODES through aliases.

    Checked on the event stream, before anything is built: it is linear in the text, needs no recursion,
    and an alias costs the size of what its anchor holds, so the expanded size is known without expanding.
    """
    expanded = 0
    open_nodes: list[list] = []  # [size so far, anchor] per open mapping/sequence
    sizes: dict[str, int] = {}

    def add(size: int) -> None:
        nonlocal expanded
        expanded += size
        if open_nodes:
            open_nodes[-1][0] += size

    for event in yaml.parse(yaml_text, Loader=_Loader):
        line = event.start_mark.line if event.start_mark is not None else 0
        if isinstance(event, yaml.AliasEvent):
            add(sizes.get(event.anchor, 1))
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor:
                sizes[event.anchor] = 1
            add(1)
        elif isinstance(event, yaml.CollectionStartEvent):
            open_nodes.append([1, event.anchor])
            expanded += 1
            if len(open_nodes) > MAX_YAML_DEPTH:
                return line, f"nested more than {MAX_YAML_DEPTH} levels deep"
        elif isinstance(event, yaml.CollectionEndEvent):
            size, anchor = open_nodes.pop()
            if anchor:
                sizes[anchor] = size
            if open_nodes:
                open_nodes[-1][0] += size
        if expanded > MAX_YAML_NODES:
            return line, (f"it expands to more than {MAX_YAML_NODES} values (YAML aliases '*name' repeat what "
                          "an anchor '&name' holds): write the values out")
    return None


def key_line(text: str, key: str) -> int:
    """The line of `key:` inside the front matter (1 if not found), so messages can point at it."""
    for lineno, line in enumerate(text.split("\n")[:200], start=1):
        if line.startswith(f"{key}:"):
            return lineno
    return 1
