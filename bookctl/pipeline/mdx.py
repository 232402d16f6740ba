"""MDX syntax in a lesson body: what search should not index, and what personalization must keep.

Docusaurus reads `.md` and `.mdx` lessons as MDX. Its syntax is not prose: `import`/`export` lines (ESM),
JSX tags (`<Tabs>`, `<TabItem value="py">`, `<br/>`) and admonition fences (`:::tip Title` … `:::`).
`search_text` removes them before chunking, keeping the prose inside (a tag's children, an admonition's
title and body); fenced code blocks and inline code are left exactly as written, since `import x` in a
Python example is code, not ESM. Lines are kept (a removed line becomes empty) so the block structure the
chunker sees (headings, paragraphs, fences) is unchanged.

`mdx_constructs` lists the constructs of a body (ESM lines, JSX tags, admonition fences with their kind), in
order, for the personalization guard: a variant must keep every one of them verbatim, as it keeps code blocks.
"""

from __future__ import annotations

import re

PREPROCESS_VERSION = "x1"  # part of the embed marker: lessons are re-chunked when these rules change

_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
_ESM = re.compile(r"^(?:import|export)\b(?!\s*[:=(])")
_ADMONITION = re.compile(r"^[ \t]*:{3,}[ \t]*(?P<kind>[A-Za-z][\w-]*)?[ \t]*(?:\[(?P<bracket>[^\]]*)\])?(?P<rest>.*)$")
# A JSX/HTML tag; attribute values may hold {…} expressions (one level of nested braces) and quoted strings.
_ATTRS = r"(?:\"[^\"]*\"|'[^']*'|\{(?:[^{}]|\{[^{}]*\})*\}|[^<>\"'{}])*"
_TAG = re.compile(rf"</?[A-Za-z][\w.:-]*(?:\s{_ATTRS})?/?>|<>|</>")
_JSX_COMMENT = re.compile(r"\{/\*.*?\*/\}", re.S)
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")


def _outside_code(line: str, fn) -> str:
    """Apply `fn` to the parts of a line that are not inline code spans."""
    out, pos = [], 0
    for m in _INLINE_CODE.finditer(line):
        out.append(fn(line[pos:m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(fn(line[pos:]))
    return "".join(out)


def search_text(body: str) -> str:
    """The body with MDX syntax removed and its prose kept (see the module docstring)."""
    if "<" not in body and ":::" not in body and "import" not in body and "export" not in body:
        return body  # plain markdown: nothing to do (the common case stays a no-op)
    lines = body.split("\n")
    out: list[str] = []
    fence: str | None = None
    in_esm = False
    for line in lines:
        if fence is not None:
            out.append(line)
            if line.strip().startswith(fence) and set(line.strip()) == {fence[0]} and len(line.strip()) >= len(fence):
                fence = None
            continue
        if m := _FENCE.match(line):
            fence = m.group(1)
            out.append(line)
            continue
        if in_esm:
            in_esm = bool(line.strip())  # ESM runs to the next blank line
            out.append("")
            continue
        if _ESM.match(line):
            in_esm = bool(line.strip())
            out.append("")
            continue
        if m := _ADMONITION.match(line):
            title = (m["bracket"] or m["rest"] or "").strip()
            out.append(title)
            continue
        out.append(_outside_code(_JSX_COMMENT.sub("", line), lambda s: _TAG.sub("", s)))
    return "\n".join(out)


def mdx_constructs(body: str) -> list[str]:
    """Every ESM line, JSX tag and admonition fence (`:::tip`, `:::`) outside code, in order: what a variant must
    keep verbatim. (A one-line multi-line-ESM statement's continuation lines are not listed; its first line is.)"""
    found: list[str] = []
    fence: str | None = None
    for line in body.split("\n"):
        if fence is not None:
            if line.strip().startswith(fence) and set(line.strip()) == {fence[0]}:
                fence = None
            continue
        if m := _FENCE.match(line):
            fence = m.group(1)
            continue
        if _ESM.match(line):
            found.append(line.rstrip())
            continue
        if m := _ADMONITION.match(line):
            # The fence and its kind must stay (`:::tip`); its title is prose and may be adapted or translated.
            found.append(":::" + (m["kind"] or "") if m["kind"] else ":::")
            continue
        _outside_code(line, lambda s: found.extend(t.group(0) for t in _TAG.finditer(s)) or s)
    return found
