"""Block structure of a lesson body for the chunker, from markdown-it-py's block token stream.

markdown-it-py runs with only the block rules that matter here (headings, fences, indented code, HTML
blocks, paragraphs; no inline parsing, no lists/quotes/tables) on a *skeleton* of the body: the same lines,
but lines that cannot open or close any of those constructs reduced to `x`. Two views of that parse:

- `headings(body)`: the headings only, which is all it takes to cut a lesson into sections. Almost every
  section fits the bound, so this is the chunker's common path, and it parses a *collapsed* skeleton: each
  run of such inert lines is cut down to the few lines that decide how the next real line is read. Token
  maps are mapped back to body offsets through the offsets of the lines that are kept.
- `blocks(body)`: every top-level block (heading, code, text) partitioning the body, for a section over the
  bound that has to be packed from smaller pieces. The chunker parses just that section: a heading starts
  with no block open, so a section's blocks are the same whether the section or the whole body is parsed.
"""

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
    return [0, *(m.end() for m in re.finditer("\n", body))]


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
    """The headings `blocks(body)` would find, from a parse of the collapsed skeleton."""
    if "\r" in body:
        # markdown-it-py turns \r into line breaks the line offsets here do not count; keep the plain path
        # (which maps tokens exactly as it always has) rather than reason about that in the collapsed one.
        source, offsets, collapsed = skeleton(body), _line_starts(body), False
    else:
        (source, offsets), collapsed = _collapsed_skeleton(body), True
    n_lines, size = len(offsets), len(body)
    out: list[Heading] = []
    first = True  # the body's first block starts at 0
    for tok in parser().parse(source):
        if tok.level != 0 or tok.map is None or tok.nesting == -1:
            continue
        if tok.type == "heading_open":
            s, e = tok.map
            start = offsets[s] if s < n_lines else size
            end = offsets[e] if e < n_lines else size
            if collapsed:  # blocks before it may have been collapsed away: it is first if only blank lines are
                first = not out and not body[:start].strip(" \t\n")
            out.append(Heading(0 if first else start, end, int(tok.tag[1]), heading_title(body[start:end], tok.markup)))
        first = False
    return out


def heading_title(source: str, markup: str) -> str:
    lines = source.strip("\r\n").splitlines()
    if markup and markup[0] in "=-":  # setext: the text lines above the underline
        return " ".join(line.strip() for line in lines[:-1]).strip()
    match = _ATX.match(lines[0]) if lines else None
    return match.group(1).strip() if match else (lines[0].strip("# \t") if lines else "")


# -- the collapsed skeleton
#
# With the rules above, a line of the skeleton can matter in only a few ways: it may open or close a fence
# (``` or ~~~ at column 0-3), be an ATX heading or a setext underline, open an HTML block (`<`), close one
# (every end condition of HTML blocks 1-5 contains `>`), or be blank. The skeleton keeps every line it does
# not reduce to `x` as it is, so the *structural* lines (indented 0-3 spaces: more makes any of them indented
# code or paragraph text) are the ones these patterns find in the body itself. (They are searched
# for in "\n" + body: a pattern that starts with a literal scans several times faster than one with `^`.)
_OPENER = r"(?:<|#{1,6}(?:[ \t]|$)|```|~~~)"
_STRUCTURAL_LINE = rf" {{0,3}}(?:{_OPENER}|-+[ \t]*$|=+[ \t]*$)"
_STRUCTURAL = re.compile(rf"\n(?:{_STRUCTURAL_LINE})", re.M)
# A `>` can close an HTML block only if the body has a line that may open one of types 1-5.
_STRUCTURAL_HTML = re.compile(rf"\n(?:{_STRUCTURAL_LINE}|[^\n]*>)", re.M)
_HTML_1_TO_5 = re.compile(r"\n {0,3}<(?:[!?]|(?i:script|pre|style|textarea))")

# Every other line is either blank (empty or whitespace only) or inert text
# whose only property is its indentation: 4+ columns (code, or paragraph continuation) or less. Between two
# structural lines, whatever block is open (fence, HTML, paragraph, code), a run of such lines leaves the
# same state after it as
#   [its first line, if not blank] [a blank line, if the run has one] [its last segment, as below]
# where the last segment is what follows the run's last blank line (or the whole run if it has none).
# A blank line closes paragraphs and HTML blocks 6-7; fences and HTML blocks 1-5 stay open (inert lines
# never close them), and so may indented code, which a structural line (indented 0-3 columns) closes just
# as if it had been closed already. So nothing before the last blank decides more than "was there one".
# The last segment decides whether a paragraph is open (then the next line may be a setext underline, and
# the heading starts where that paragraph started) or indented code is: it becomes "    x" if it starts
# indented, then "x" at its first line that is not. The first line is kept so that the line after a
# structural line maps to the right offset (a heading's block ends there).


def _collapsed_skeleton(body: str) -> tuple[str, list[int]]:
    text = "\n" + body
    pattern = _STRUCTURAL_HTML if _HTML_1_TO_5.search(text) else _STRUCTURAL
    lines: list[str] = []
    offsets: list[int] = []
    pos = 0
    for m in pattern.finditer(text):
        start = m.start()  # in the body: the line after the matched newline
        end = body.find("\n", start)
        if end < 0:
            end = len(body)
        if start > pos:
            _run(body, pos, start - 1, lines, offsets)
        lines.append(body[start:end])
        offsets.append(start)
        pos = end + 1
    if pos <= len(body):
        _run(body, pos, len(body), lines, offsets)
    return "\n".join(lines), offsets


def _run(body: str, start: int, stop: int, lines: list[str], offsets: list[int]) -> None:
    """The inert/blank lines body[start:stop] (`stop`: the newline before the next structural line, or the
    end of the body) as at most four skeleton lines."""
    run = body[start:stop].split("\n")
    blank = [not line.strip(" \t") for line in run]
    if True not in blank:
        _last_segment(run, start, lines, offsets)
        return
    first_blank = blank.index(True)
    if first_blank:
        lines.append("x")
        offsets.append(start)
    lines.append("")
    offsets.append(start + sum(map(len, run[:first_blank])) + first_blank)
    last_blank = len(run) - 1 - blank[::-1].index(True)
    tail = run[last_blank + 1:]
    if tail:
        _last_segment(tail, stop - sum(map(len, tail)) - len(tail) + 1, lines, offsets)


def _last_segment(run: list[str], start: int, lines: list[str], offsets: list[int]) -> None:
    if not _indented_code(run[0]):
        lines.append("x")
        offsets.append(start)
        return
    lines.append("    x")
    offsets.append(start)
    for line in run:
        if not _indented_code(line):
            lines.append("x")
            offsets.append(start)
            return
        start += len(line) + 1


def _indented_code(line: str) -> bool:
    """Is this inert line, as the skeleton leaves it, indented by 4+ columns?"""
    indent = line[:len(line) - len(line.lstrip(" \t"))]
    return "\t" in indent or len(indent) >= 4
