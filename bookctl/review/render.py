"""Turning lesson and variant text into safe HTML, a word-level diff, and the guard results.

LLM output is untrusted HTML: markdown-it runs with raw HTML off (tags come out as text) and its own link
validation (no javascript:/vbscript:/file:/data: links); the diff escapes every token itself. The page's
Content-Security-Policy (see bookctl.api.review) is the second line of defence.
"""

from __future__ import annotations

import difflib
import html
import re
from functools import lru_cache

from bookctl.personalization.guards import GuardFailure, check_variant, code_blocks
from bookctl.review.schemas import GuardResult

_TOKEN = re.compile(r"\s+|[^\s]+")
_ADMONITION = re.compile(r"^ {0,3}(:{3,})\s*([A-Za-z][\w-]*)", re.MULTILINE)
_JSX_TAG = re.compile(r"<([A-Z][\w.]*)\b")
_MDX_LINE = re.compile(r"^(?:import|export)\s.+$", re.MULTILINE)
_HEADING = re.compile(r"^ {0,3}#{1,6}\s", re.MULTILINE)
MAX_DIFF_TOKENS = 40_000  # beyond this the diff view is skipped (difflib is quadratic in the worst case)


@lru_cache(maxsize=1)
def _markdown():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
        ["table", "strikethrough"])


def markdown_html(text: str) -> str:
    """Rendered Markdown with raw HTML escaped (safe to embed as is)."""
    return _markdown().render(text or "")


def word_diff(original: str, variant: str) -> str | None:
    """HTML of the variant against the original, word by word: <del> removed, <ins> added; None if too large."""
    a, b = _TOKEN.findall(original or ""), _TOKEN.findall(variant or "")
    if len(a) + len(b) > MAX_DIFF_TOKENS:
        return None
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(html.escape("".join(a[i1:i2])))
            continue
        if op in ("delete", "replace"):
            out.append(f"<del>{html.escape(''.join(a[i1:i2]))}</del>")
        if op in ("insert", "replace"):
            out.append(f"<ins>{html.escape(''.join(b[j1:j2]))}</ins>")
    return "".join(out)


def guard_report(original: str, variant: str) -> list[GuardResult]:
    """Every check a reviewer should see, each with its own verdict (the cache guard stops at the first)."""
    results: list[GuardResult] = []
    try:
        check_variant(original, variant)
        results.append(GuardResult("all guards", True, "the variant passes every guard the cache applies"))
    except GuardFailure as failure:
        results.append(GuardResult("all guards", False, str(failure)))
    blocks = code_blocks(original)
    kept = sum(1 for block in blocks if variant.count(block) >= original.count(block))
    results.append(GuardResult("code blocks intact", kept == len(blocks), f"{kept} of {len(blocks)} verbatim"))
    n, m = len(original.strip()), len(variant.strip())
    ratio = m / n if n else 0.0
    results.append(GuardResult("length ratio", 0.5 <= ratio <= 4.0 if n else m == 0,
                               f"{ratio:.2f}x the original ({m} vs {n} characters)"))
    h_orig, h_var = len(_HEADING.findall(original)), len(_HEADING.findall(variant))
    results.append(GuardResult("headings kept", h_var >= h_orig, f"{h_var} of {h_orig}"))
    results.append(_kept("admonitions kept", [f"{c}{k}" for c, k in _ADMONITION.findall(original)],
                         [f"{c}{k}" for c, k in _ADMONITION.findall(variant)]))
    results.append(_kept("MDX components kept", _JSX_TAG.findall(original) + _MDX_LINE.findall(original),
                         _JSX_TAG.findall(variant) + _MDX_LINE.findall(variant)))
    return results


def _kept(rule: str, wanted: list[str], found: list[str]) -> GuardResult:
    from collections import Counter

    missing = Counter(wanted) - Counter(found)
    if not wanted:
        return GuardResult(rule, True, "none in the original")
    if missing:
        names = ", ".join(sorted(missing))[:200]
        return GuardResult(rule, False, f"{sum(missing.values())} of {len(wanted)} missing: {names}")
    return GuardResult(rule, True, f"all {len(wanted)} kept")
