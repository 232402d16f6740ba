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
_TAG_START = re.compile(r"</?[A-Za-z][\w.:-]*(?=\s|/>|>)|<>|</>")  # not an autolink <https://…>
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
_SPECIAL = re.compile(r"[`<{]")  # what _strip_jsx looks at; everything else is copied as is
_BACKTICKS = re.compile(r"`+")


def _outside_code(line: str, fn) -> str:
    """Apply `fn` to the parts of a line that are not inline code spans."""
    out, pos = [], 0
    for m in _INLINE_CODE.finditer(line):
        out.append(fn(line[pos:m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(fn(line[pos:]))
    return "".join(out)


def _tag_end(text: str, start: int) -> int:
    """The index after the `>` closing the JSX tag that opens at `start`, or -1 when it is not a tag.

    Attributes may span lines and hold quoted strings and `{…}` expressions nested to any depth (with template
    literals inside), so this scans instead of matching a regular expression."""
    if not _TAG_START.match(text, start):
        return -1
    depth, quote, i = 0, "", start + 1
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'`" and (depth or ch != "`"):
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
        elif ch == "<" and not depth:
            return -1  # a second '<' before this one closed: prose such as "a < b < c"
        elif ch == ">" and not depth:
            return i + 1
        elif ch == "\n" and not depth and text.startswith("\n", i + 1) :
            return -1  # a blank line ends a paragraph: whatever this was, it was not a tag
        i += 1
    return -1


def _strip_jsx(text: str) -> str:
    """Remove JSX tags and `{/* comments */}` from prose (inline code kept); removed text keeps its newlines."""
    out, i, n = [], 0, len(text)
    while i < n:
        m = _SPECIAL.search(text, i)  # jump to the next character that may start something (the rest is copied)
        if m is None:
            out.append(text[i:])
            break
        if m.start() > i:
            out.append(text[i:m.start()])
            i = m.start()
        ch = text[i]
        if ch == "`":  # inline code: kept as written, up to the matching run of backticks in the paragraph
            run = _BACKTICKS.match(text, i).end() - i
            close = text.find("`" * run, i + run)
            if close != -1 and text.find("\n\n", i, close) == -1:
                out.append(text[i:close + run])
                i = close + run
                continue
            out.append("`" * run)
            i += run
            continue
        if ch == "<" and (end := _tag_end(text, i)) != -1:
            out.append("\n" * text.count("\n", i, end))
            i = end
            continue
        if text.startswith("{/*", i) and (end := text.find("*/}", i)) != -1:
            out.append("\n" * text.count("\n", i, end))
            i = end + 3
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def search_text(body: str) -> str:
    """The body with MDX syntax removed and its prose kept (see the module docstring)."""
    if "<" not in body and ":::" not in body and "import" not in body and "export" not in body:
        return body  # plain markdown: nothing to do (the common case stays a no-op)
    out: list[str] = []
    prose: list[str] = []  # consecutive lines outside code, cleaned together (tags may span lines)
    fence: str | None = None
    in_esm = False

    def flush() -> None:
        if prose:
            out.extend(_strip_jsx("\n".join(prose)).split("\n"))
            prose.clear()

    for line in body.split("\n"):
        if fence is not None:
            out.append(line)
            if line.strip().startswith(fence) and set(line.strip()) == {fence[0]} and len(line.strip()) >= len(fence):
                fence = None
            continue
        # (each pattern needs the characters tested first: most lines are prose and skip all three)
        if ("`" in line or "~" in line) and (m := _FENCE.match(line)):
            flush()
            fence = m.group(1)
            out.append(line)
            continue
        if in_esm:
            in_esm = bool(line.strip())  # ESM runs to the next blank line
            prose.append("")
            continue
        if line.startswith(("import", "export")) and _ESM.match(line):
            in_esm = bool(line.strip())
            prose.append("")
            continue
        if ":::" in line and (m := _ADMONITION.match(line)):
            prose.append((m["bracket"] or m["rest"] or "").strip())
            continue
        prose.append(line)
    flush()
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
