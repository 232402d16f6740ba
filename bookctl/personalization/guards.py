"""Checks a variant must pass before it is cached, plus the Markdown splitting they rely on.

- every fenced code block of the original appears verbatim in the variant (as many times as in the original);
- so does every MDX construct outside code: import/export lines, JSX tags (`<Tabs>`), admonition fences
  (`:::tip` … `:::`), or the page no longer builds or renders as the editor wrote it (see pipeline/mdx.py);
- no preamble ("Here is the adapted lesson:") and no wrapper fence around the whole answer;
- output length within sane bounds of the original (not empty, not truncated, not runaway).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bookctl.pipeline.mdx import mdx_constructs

_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_PREAMBLE = re.compile(
    r"^\s*(here(?:'s| is| are)\b|sure\b|certainly\b|of course\b|below is\b|okay\b|ok[,!.]|absolutely\b|"
    r"i(?:'ve| have) (?:adapted|rewritten|personali[sz]ed)|this (?:is|version)\b.*\badapted\b)",
    re.IGNORECASE,
)
_HEADING = re.compile(r"^#{1,6}\s")
MIN_RATIO = 0.5      # a variant shorter than half the original lost content
MAX_RATIO = 4.0      # Urdu text and beginner expansions grow; beyond this it is runaway
SLACK_CHARS = 400    # short texts get absolute slack


@dataclass(frozen=True)
class GuardFailure(Exception):
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"


def code_blocks(markdown: str) -> list[str]:
    """Every fenced code block, fence lines included, exactly as written (an unclosed fence runs to the end)."""
    blocks: list[str] = []
    lines = markdown.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        match = _FENCE_OPEN.match(lines[i].rstrip("\r\n"))
        if match and not (match.group(1)[0] == "`" and "`" in match.group(2)):
            fence = match.group(1)
            closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
            j = i + 1
            while j < len(lines) and not closing.match(lines[j].rstrip("\r\n")):
                j += 1
            blocks.append("".join(lines[i:j + 1]).rstrip("\r\n"))
            i = j + 1
            continue
        i += 1
    return blocks


def sections(markdown: str, max_chars: int) -> list[str]:
    """Split at level-2 headings (outside code fences) into pieces of at most ~max_chars; '' joins them back."""
    if len(markdown) <= max_chars:
        return [markdown]
    lines = markdown.splitlines(keepends=True)
    cuts, in_fence, fence = [0], False, ""
    for n, line in enumerate(lines):
        stripped = line.rstrip("\r\n")
        match = _FENCE_OPEN.match(stripped)
        if in_fence:
            if re.match(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$", stripped):
                in_fence = False
        elif match:
            in_fence, fence = True, match.group(1)
        elif n and re.match(r"^##\s", stripped):
            cuts.append(n)
    pieces = ["".join(lines[a:b]) for a, b in zip(cuts, cuts[1:] + [len(lines)])]
    grouped: list[str] = []
    for piece in pieces:
        if grouped and len(grouped[-1]) + len(piece) <= max_chars:
            grouped[-1] += piece
        else:
            grouped.append(piece)
    return grouped


def check_variant(original: str, variant: str, *, max_ratio: float = MAX_RATIO) -> None:
    """Raise GuardFailure naming the first rule the variant breaks."""
    text = variant.strip()
    if not text:
        raise GuardFailure("empty", "the model returned no text")
    first_line = text.splitlines()[0]
    if _PREAMBLE.match(first_line) and not _PREAMBLE.match(original.strip().splitlines()[0] if original.strip() else ""):
        raise GuardFailure("preamble", f"the answer starts with a preamble: {first_line[:80]!r}")
    if _is_wrapped(original, text):
        raise GuardFailure("wrapper_fence", "the whole answer is wrapped in a code fence")
    for block in code_blocks(original):
        if variant.count(block) < original.count(block):
            head = block.splitlines()[0] if block else ""
            raise GuardFailure("code_block", f"a code block of the original is missing or altered (starting {head!r}, "
                                             f"{len(block.splitlines())} lines); copy it exactly")
    for construct in dict.fromkeys(mdx_constructs(original)):
        if variant.count(construct) < original.count(construct):
            raise GuardFailure("mdx", f"the MDX {construct!r} of the original is missing or altered; keep every MDX "
                                      "component, import/export line and admonition fence exactly as written")
    n, m = len(original.strip()), len(text)
    if m < n * MIN_RATIO - SLACK_CHARS:
        raise GuardFailure("too_short", f"the answer has {m} characters against {n} in the original")
    if m > n * max_ratio + SLACK_CHARS * 4:
        raise GuardFailure("too_long", f"the answer has {m} characters against {n} in the original")
    if _HEADING.match(original.lstrip()) and not any(_HEADING.match(line) for line in text.splitlines()):
        raise GuardFailure("headings", "the answer lost every heading of the original")


def _is_wrapped(original: str, text: str) -> bool:
    lines = text.splitlines()
    if len(lines) < 2:
        return False
    opening = _FENCE_OPEN.match(lines[0])
    if not opening or lines[-1].strip() != opening.group(1):
        return False
    if original.strip().startswith(lines[0].strip()) and original.strip().endswith(lines[-1].strip()):
        return False  # the original itself is one code block
    blocks = code_blocks(text)
    whole = bool(blocks) and blocks[0].strip() == text.strip()
    return whole or opening.group(2).strip().lower() in ("markdown", "md")
