"""Block structure of a lesson body for the chunker, as markdown-it-py's block rules read it.

Only the block rules that matter here count (headings, fences, indented code, HTML blocks, paragraphs; no
inline parsing, no lists/quotes/tables). Two views:

- `headings(body)`: the headings only, which is all it takes to cut a lesson into sections. Almost every
  section fits the bound, so this is the chunker's common path: no parse, a scan that visits only the lines
  that can open or close a block (see "Headings by scanning"), checked against the full parse in the tests.
- `blocks(body)`: every top-level block (heading, code, text) partitioning the body, for a section over the
  bound that has to be packed from smaller pieces: markdown-it-py parses just that section, on a *skeleton*
  (the same lines, those that cannot open or close a block reduced to `x`). A heading starts with no block
  open, so a section's blocks are the same whether the section or the whole body is parsed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@lru_cache(maxsize=1)
def parser():
    from markdown_it import MarkdownIt
    from markdown_it.rules_block.heading import heading

    # Only the block structure matters (headings, fences, everything else is text): no inline parsing, and
    # no container rules (lists/quotes/tables become paragraph text), which makes parsing several times faster.
    md = MarkdownIt("commonmark")
    md.disable(["list", "blockquote", "reference", "hr"], ignoreInvalid=True)
    md.core.ruler.disable(["inline", "text_join"], ignoreInvalid=True)
    # ATX headings: markdown-it-py's own rule decides, but only the opening token is made (see below).
    alt = next(rule.alt for rule in md.block.ruler.__rules__ if rule.name == "heading")

    def heading_open_only(state, start_line: int, end_line: int, silent: bool) -> bool:
        """markdown-it-py's ATX heading rule, keeping only its opening token (nesting 0: it closes nothing).
        The chunker reads a heading's lines and level and takes the title from the body; the inline and
        closing tokens it never read were two thirds of all tokens."""
        if not heading(state, start_line, end_line, True):
            return False
        if not silent:
            pos = state.bMarks[start_line] + state.tShift[start_line]
            marks = state.src[pos:pos + 6]
            level = len(marks) - len(marks.lstrip("#"))
            state.line = start_line + 1
            token = state.push("heading_open", f"h{level}", 0)
            token.markup = "#" * level
            token.map = [start_line, state.line]
        return True

    md.block.ruler.at("heading", heading_open_only, {"alt": list(alt)})
    return md


# Lines whose first non-blank character cannot open or close a block construct we care about (headings,
# fences, setext underlines, HTML blocks) are replaced by their indentation + "x" before parsing: the line
# structure, and so every token's `map`, is unchanged, and markdown-it-py has a fraction of the text to scan.
# The lookahead rejects a blank too, so the indentation cannot give its last character back to the text: an
# indented fence (a code block inside a list item), heading or underline, and a whitespace-only line (a
# blank line), keep their meaning. (Chunker md-1 let it, and cut inside such fences.)
_PLAIN_LINE = re.compile(r"(?m)^([ \t]*)(?![ \t#`~=\-<\r\n]|$)(?![^\r\n]*>)[^\r\n]+")  # '>' may end an HTML block
_ATX = re.compile(r"^[ \t]*#{1,6}(?:[ \t]+|$)(.*?)(?:[ \t]+#+)?[ \t]*$")


def skeleton(body: str) -> str:
    return _PLAIN_LINE.sub(lambda m: m.group(1) + "x", body)


@dataclass
class Block:
    start: int  # char offsets into the body
    end: int
    kind: str  # heading | fence | text
    level: int = 0
    title: str = ""


@dataclass(frozen=True)
class Heading:
    start: int  # where its block starts (0 for the body's first block: the blocks partition the body)
    end: int  # end of the heading's own lines (blank lines after it are not part of it)
    level: int
    title: str


def _line_starts(body: str) -> list[int]:
    # markdown-it-py's line breaks: \r\n, a lone \r, \n
    return [0, *(m.end() for m in _NEWLINES.finditer(body))]


def blocks(body: str) -> list[Block]:
    """Top-level blocks partitioning the body: lines no token maps (blank lines) are attached to the block
    before them, so concatenating the blocks gives the body back."""
    starts = _line_starts(body)
    n_lines, size = len(starts), len(body)

    def offset(line: int) -> int:
        return starts[line] if line < n_lines else size

    raw: list[Block] = []
    for tok in parser().parse(skeleton(body)):
        if tok.level != 0 or tok.map is None or tok.nesting == -1:
            continue
        s, e = offset(tok.map[0]), offset(tok.map[1])
        if tok.type == "heading_open":
            raw.append(Block(s, e, "heading", int(tok.tag[1]), heading_title(body[s:e], tok.markup)))
        elif tok.type in ("fence", "code_block"):
            raw.append(Block(s, e, "fence"))
        else:
            raw.append(Block(s, e, "text"))
    if not raw:
        return [Block(0, len(body), "text")] if body.strip() else []
    raw[0].start = 0
    for prev, nxt in zip(raw, raw[1:]):
        prev.end = nxt.start
    raw[-1].end = len(body)
    return raw


def headings(body: str) -> list[Heading]:
    """The headings `blocks(body)` would find, without a parse (see "Headings by scanning" below)."""
    if "\r" not in body:
        return _scan_headings(body)
    # markdown-it-py reads \r\n and a lone \r as line breaks: scan the text as it does, then map line starts back
    norm = _NEWLINES.sub("\n", body)
    back = dict(zip(_line_starts(norm), _line_starts(body)))
    back[len(norm)] = len(body)
    return [Heading(back[h.start], back[h.end], h.level, h.title) for h in _scan_headings(norm)]


def heading_title(source: str, markup: str) -> str:
    lines = source.strip("\r\n").splitlines()
    if markup and markup[0] in "=-":  # setext: the text lines above the underline
        return " ".join(line.strip() for line in lines[:-1]).strip()
    match = _ATX.match(lines[0]) if lines else None
    return match.group(1).strip() if match else (lines[0].strip("# \t") if lines else "")


# -- Headings by scanning
#
# The headings of a body are those markdown-it-py's block parse (the parser above: code, fence, html_block,
# heading, lheading, paragraph) reports, found here without running it over the body: a heading pass over
# every lesson was most of the chunker's Python time. The scan follows the same rules, but visits only the
# lines that can change what is open ("structural" lines, indented 0-3 spaces: more makes any of them code
# or paragraph text): a fence or HTML block opener, an ATX heading, a setext underline. Every other line is
# blank (spaces and tabs only) or inert text, and all that matters about a run of those is whether it ends
# a paragraph (a blank line does) and where one starts (a non-blank line indented 0-3 columns, when none is
# open; a tab in the indentation makes it 4+, which is indented code, or lazy paragraph text). Inside a
# fence or an HTML block the scan jumps straight to its closing line, found the way the rule finds it.
# tests/search/test_chunk.py checks the scan against the full parse on generated bodies.
_NEWLINES = re.compile(r"\r\n?|\n")  # what markdown-it-py normalises to \n
# searched for in "\n" + body (a pattern that starts with a literal scans several times faster than `^`)
_STRUCTURAL = re.compile(r"\n {0,3}(?:<|#{1,6}(?:[ \t]|$)|```|~~~|-+[ \t]*$|=+[ \t]*$)", re.M)
_SPACES_LINE = re.compile(r"\n[ \t]+(?=\n)")  # a blank line that is not empty
_PARAGRAPH_LINE = re.compile(r"\n {0,3}[^ \t\n]")  # opens a paragraph when none is open
_BLANK_LINE = re.compile(r"\n[ \t]*(?:\n|\Z)")  # ends HTML blocks 6 and 7


@lru_cache(maxsize=64)
def _closing_fence(marker: str, length: int) -> re.Pattern[str]:
    return re.compile(rf"\n {{0,3}}{re.escape(marker)}{{{length},}}[ \t]*(?=\n|\Z)")


@lru_cache(maxsize=1)
def _html_sequences():
    from markdown_it.rules_block.html_block import HTML_SEQUENCES  # the parser's own (opener, closer, interrupts)

    return HTML_SEQUENCES


def _last_blank(text: str, start: int, end: int) -> int:
    """Where the last blank line in text[start:end] ends (the index of its newline), or -1."""
    empty = text.rfind("\n\n", start, end)  # the usual kind; then any made of spaces after it
    last = empty + 1 if empty >= 0 else -1
    for m in _SPACES_LINE.finditer(text, max(start, empty + 1), end):
        last = m.end()
    return last


def _scan_headings(src: str) -> list[Heading]:
    """Headings of a body with no \\r, as markdown-it-py's block parse reads them."""
    text = "\n" + src  # text[i] is the newline before the line at src[i]
    n = len(src)
    out: list[Heading] = []
    para = -1  # where the open paragraph starts (a setext heading starts there), or -1
    pos = 0  # the next line not yet read
    while True:
        m = _STRUCTURAL.search(text, pos)
        if m is None:
            return out  # nothing after this can be, or make, a heading
        c = m.start()  # the structural line starts at src[c]
        if c > pos:  # the inert lines src[pos:c]
            blank = _last_blank(text, pos, c + 1)
            if blank >= 0:
                para = -1
            if para < 0:
                p = _PARAGRAPH_LINE.search(text, blank if blank >= 0 else pos, c + 1)
                if p is not None:
                    para = p.start()
        eol = src.find("\n", c)
        if eol < 0:
            eol = n
        line = src[c:eol].lstrip(" ")
        pos = eol + 1
        ch = line[0]
        level = 0
        if ch in "=-":  # a setext underline, if a paragraph is open; else paragraph text (no hr rule)
            if para < 0:
                para = c
                continue
            start, level, markup, para = para, 1 if ch == "=" else 2, ch, -1
        elif ch == "#":
            start, level, markup, para = c, len(line) - len(line.lstrip("#")), "#", -1
        elif ch in "`~":
            run = len(line) - len(line.lstrip(ch))
            if ch == "`" and "`" in line[run:]:  # not a fence: backticks in the info string
                para = c if para < 0 else para
                continue
            para = -1
            close = _closing_fence(ch, run).search(text, pos)
            if close is None:
                return out  # an unclosed fence runs to the end
            eol = src.find("\n", close.start())
            pos = n + 1 if eol < 0 else eol + 1
            continue
        else:  # "<": an HTML block, or paragraph text
            for kind, (opener, closer, interrupts) in enumerate(_html_sequences()):
                if opener.search(line):
                    break
            else:
                kind, interrupts = -1, False
            if kind < 0 or (para >= 0 and not interrupts):
                para = c if para < 0 else para
                continue
            para = -1
            if kind >= 5:  # types 6 and 7 end before a blank line
                blank_line = _BLANK_LINE.search(text, pos)
                if blank_line is None:
                    return out
                pos = blank_line.start()
                continue
            if closer.search(line):  # types 1-5 end on the line holding their end condition (never a newline)
                continue
            close = closer.search(src, pos)
            if close is None:
                return out
            eol = src.find("\n", close.start())
            pos = n + 1 if eol < 0 else eol + 1
            continue
        end = min(pos, n)
        first = not out and not src[:start].strip(" \t\n")  # the body's first block starts at 0
        out.append(Heading(0 if first else start, end, level, heading_title(src[start:end], markup)))
