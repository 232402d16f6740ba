"""Heading-aware markdown chunking on markdown-it-py's token stream.

- Splits at headings; each chunk keeps its heading path (`Lesson › Section › Subsection`).
- Never cuts inside a fenced code block unless that block alone exceeds the bound (then by lines).
- Drops front matter. Measures length in tiktoken tokens (offline encodings, see bookctl.llm.tokens).
- Every chunk's *embedded text* (heading path + passage) is within `max_tokens`; consecutive chunks of
  one section overlap by about `overlap` of the bound, at sentence/line granularity.
- Nothing is lost: every chunk is a span `body[start:end]`, and the spans cover every non-blank character.
- Identity is stable: `chunk_hash` = sha256(chunker version + normalised embedded text).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from functools import lru_cache

from bookctl.curriculum.frontmatter import strip_front_matter
from bookctl.llm.tokens import DEFAULT_ENCODING, get_encoding

CHUNKER_VERSION = "md-1"
DEFAULT_MAX_TOKENS = 500
DEFAULT_OVERLAP = 0.15
PATH_SEP = " › "

_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+|\n")
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class Chunk:
    position: int
    heading_path: str
    text: str  # the passage, exactly body[start:end] (front matter removed)
    start: int
    end: int
    token_count: int  # tokens of `embed_text`, always <= max_tokens
    chunk_hash: str

    @property
    def embed_text(self) -> str:
        return embed_text(self.heading_path, self.text)


def embed_text(heading_path: str, text: str) -> str:
    return f"{heading_path}\n\n{text}" if heading_path else text


def normalise(text: str) -> str:
    return _WS.sub(" ", text).strip()


def chunk_hash(heading_path: str, text: str) -> str:
    payload = f"{CHUNKER_VERSION}\0{normalise(embed_text(heading_path, text))}"
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@lru_cache(maxsize=1)
def _parser():
    from markdown_it import MarkdownIt

    # Only the block structure matters (headings, fences, everything else is text): no inline parsing, and
    # no container rules (lists/quotes/tables become paragraph text), which makes parsing several times faster.
    md = MarkdownIt("commonmark")
    md.disable(["list", "blockquote", "reference", "hr"], ignoreInvalid=True)
    md.core.ruler.disable(["inline", "text_join"], ignoreInvalid=True)
    return md


@dataclass
class _Block:
    start: int  # char offsets into the body
    end: int
    kind: str  # heading | fence | text
    level: int = 0
    title: str = ""


def _blocks(body: str) -> list[_Block]:
    """Top-level blocks partitioning the body: lines no token maps (blank lines, link definitions...)
    are attached to the block before them, so concatenating the blocks gives the body back."""
    line_starts = [0]
    for m in re.finditer("\n", body):
        line_starts.append(m.end())
    n_lines = len(line_starts)

    def offset(line: int) -> int:
        return line_starts[line] if line < n_lines else len(body)

    tokens = _parser().parse(_skeleton(body))
    raw: list[_Block] = []
    for tok in tokens:
        if tok.level != 0 or tok.map is None or tok.nesting == -1:
            continue
        s, e = tok.map
        if tok.type == "heading_open":
            raw.append(_Block(offset(s), offset(e), "heading", int(tok.tag[1]),
                              _heading_title(body[offset(s):offset(e)], tok.markup)))
        elif tok.type in ("fence", "code_block"):
            raw.append(_Block(offset(s), offset(e), "fence"))
        else:
            raw.append(_Block(offset(s), offset(e), "text"))
    if not raw:
        return [_Block(0, len(body), "text")] if body.strip() else []
    raw[0].start = 0
    for prev, nxt in zip(raw, raw[1:]):
        prev.end = nxt.start
    raw[-1].end = len(body)
    return raw


# Lines whose first non-blank character cannot open or close a block construct we care about (headings,
# fences, setext underlines, HTML blocks) are replaced by their indentation + "x" before parsing: the line
# structure, and so every token's `map`, is unchanged, and markdown-it-py has a fraction of the text to scan.
_PLAIN_LINE = re.compile(r"(?m)^([ \t]*)(?![#`~=\-<\r\n]|$)(?![^\r\n]*>)[^\r\n]+")  # '>' may end an HTML block
_ATX = re.compile(r"^[ \t]*#{1,6}(?:[ \t]+|$)(.*?)(?:[ \t]+#+)?[ \t]*$")


def _skeleton(body: str) -> str:
    return _PLAIN_LINE.sub(lambda m: m.group(1) + "x", body)


def _heading_title(source: str, markup: str) -> str:
    lines = source.strip("\r\n").splitlines()
    if markup and markup[0] in "=-":  # setext: the text lines above the underline
        return " ".join(line.strip() for line in lines[:-1]).strip()
    match = _ATX.match(lines[0]) if lines else None
    return match.group(1).strip() if match else (lines[0].strip("# \t") if lines else "")


@dataclass
class _Unit:
    start: int
    end: int
    tokens: int
    atomic_break: bool = False  # a new section starts here (never packed with what came before)


class Chunker:
    def __init__(self, max_tokens: int = DEFAULT_MAX_TOKENS, overlap: float = DEFAULT_OVERLAP,
                 encoding: str = DEFAULT_ENCODING) -> None:
        if max_tokens < 32:
            raise ValueError("max_tokens must be at least 32")
        self.max_tokens = max_tokens
        self.overlap_tokens = int(max_tokens * overlap)
        self.enc = get_encoding(encoding)

    def count(self, text: str) -> int:
        return len(self.enc.encode_ordinary(text))

    def chunk(self, markdown: str, title: str = "") -> list[Chunk]:
        body = strip_front_matter(markdown)
        blocks = _blocks(body)
        sections = [(self._cap_path(path), start, end) for path, start, end in self._sections(body, title, blocks)]
        texts = [body[start:end].strip() for _, start, end in sections]
        sizes = [len(self.enc.encode_ordinary(t)) for t in texts]
        chunks: list[Chunk] = []
        for (path, start, end), text, size in zip(sections, texts, sizes):
            if not text:
                continue
            prefix = self._prefix_tokens(path)
            if prefix + size <= self.max_tokens:  # the common case: one chunk, counted once
                lead = len(body[start:end]) - len(body[start:end].lstrip())
                s = start + lead
                chunks.append(Chunk(len(chunks), path, text, s, s + len(text), prefix + size, chunk_hash(path, text)))
                continue
            inner = [b for b in blocks if start <= b.start < end]
            chunks.extend(self._pack(body, path, start, end, len(chunks), inner))
        return chunks

    def _prefix_tokens(self, path: str) -> int:
        # exact: "\n\n" ends a pre-token and the passage starts with non-space, so counts add up
        return len(self.enc.encode_ordinary(path + "\n\n")) if path else 0

    # -- sections: (heading path, start, end)
    def _sections(self, body: str, title: str, blocks: list[_Block]) -> list[tuple[str, int, int]]:
        root = title.strip()
        stack: list[tuple[int, str]] = []
        sections: list[tuple[str, int, int]] = []
        current_path, current_start = root, 0
        pending_heading_only = False
        for block in blocks:
            if block.kind == "heading":
                if block.start > current_start and body[current_start:block.start].strip() and not pending_heading_only:
                    sections.append((current_path, current_start, block.start))
                    current_start = block.start
                # a heading with nothing but its own line under it is merged into the next section
                while stack and stack[-1][0] >= block.level:
                    stack.pop()
                if block.level == 1 and not stack and block.title and block.title == root:
                    stack = []  # the lesson's own H1 repeats the title
                else:
                    stack.append((block.level, block.title))
                current_path = PATH_SEP.join([p for p in [root, *[t for _, t in stack]] if p])
                pending_heading_only = True
            elif body[block.start:block.end].strip():
                pending_heading_only = False
        if current_start < len(body) and body[current_start:].strip():
            sections.append((current_path, current_start, len(body)))
        elif sections:
            path, s, _ = sections[-1]
            sections[-1] = (path, s, len(body))
        return sections

    # -- units inside one section, each within `budget` tokens
    def _units(self, body: str, blocks: list[_Block], budget: int) -> list[_Unit]:
        units: list[_Unit] = []
        for block in blocks:
            text = body[block.start:block.end]
            if block.kind == "fence":
                n = self.count(text)
                if n <= budget:
                    units.append(_Unit(block.start, block.end, n))
                    continue
                pieces = _split_lines(text)  # a code block larger than the bound: cut between lines
            else:
                pieces = _split_sentences(text)
            offset = block.start
            for piece in pieces:
                n = self.count(piece)
                if n <= budget:
                    units.append(_Unit(offset, offset + len(piece), n))
                else:
                    units.extend(self._hard_split(piece, offset, budget))
                offset += len(piece)
        return units

    def _hard_split(self, text: str, offset: int, budget: int) -> list[_Unit]:
        """Last resort for one enormous line: cut at token boundaries mapped back to characters."""
        out: list[_Unit] = []
        ids = self.enc.encode_ordinary(text)
        pos = 0
        for i in range(0, len(ids), budget):
            piece = self.enc.decode(ids[i:i + budget])
            # decode may not round-trip exactly at a cut inside a multi-byte char; fall back to char walk
            if not text.startswith(piece, pos):
                piece = text[pos:pos + max(1, len(piece))]
            end = pos + len(piece) if i + budget < len(ids) else len(text)
            n = self.count(text[pos:end])
            while n > budget and end - pos > 1:
                end = pos + (end - pos) * 3 // 4
                n = self.count(text[pos:end])
            out.append(_Unit(offset + pos, offset + end, n))
            pos = end
            if pos >= len(text):
                break
        while pos < len(text):  # whatever the shrinking above left over
            end = len(text)
            n = self.count(text[pos:end])
            while n > budget and end - pos > 1:
                end = pos + (end - pos) // 2
                n = self.count(text[pos:end])
            out.append(_Unit(offset + pos, offset + end, n))
            pos = end
        return out

    def _pack(self, body: str, path: str, start: int, end: int, first_position: int,
              blocks: list[_Block]) -> list[Chunk]:
        prefix_tokens = self._prefix_tokens(path)
        budget = max(8, self.max_tokens - prefix_tokens - 2)  # 2: BPE merges where pieces join
        if blocks:
            blocks = [_Block(b.start, b.end, b.kind, b.level, b.title) for b in blocks]
            blocks[0].start, blocks[-1].end = start, end
        else:
            blocks = [_Block(start, end, "text")]
        units = self._units(body, blocks, budget)
        chunks: list[Chunk] = []
        i = 0
        while i < len(units):
            j, used = i, 0
            while j < len(units) and used + units[j].tokens <= budget:
                used += units[j].tokens
                j += 1
            if j == i:  # cannot happen (units are within budget), but never loop forever
                j = i + 1
            # exact check on the joined text (BPE merges across unit boundaries may differ by a token)
            while j - i > 1 and self.count(embed_text(path, body[units[i].start:units[j - 1].end].strip())) > self.max_tokens:
                j -= 1
            for chunk in self._bounded(body, path, units[i].start, units[j - 1].end):
                chunks.append(replace(chunk, position=first_position + len(chunks)))
            if j >= len(units):
                break
            # overlap: restart from the last units of this chunk that fit in the overlap budget
            k, back = j, 0
            while k - 1 > i and back + units[k - 1].tokens <= self.overlap_tokens:
                back += units[k - 1].tokens
                k -= 1
            i = k
        return chunks

    def _cap_path(self, path: str) -> str:
        """A heading path may use at most a quarter of the bound (absurdly long headings are cut)."""
        cap = self.max_tokens // 4
        if not path or self.count(path + "\n\n") <= cap:
            return path
        ids = self.enc.encode_ordinary(path)
        while ids:
            ids = ids[: max(0, min(len(ids) - 1, cap - 4))]
            short = self.enc.decode(ids).rstrip() + "…"
            if self.count(short + "\n\n") <= cap:
                return short
        return ""

    def _bounded(self, body: str, path: str, start: int, end: int) -> list[Chunk]:
        """One chunk for body[start:end], or several if the exact count is over the bound; blank spans none."""
        if not body[start:end].strip():
            return []
        chunk = self._make(body, path, start, end, 0)
        if chunk.token_count <= self.max_tokens or end - start <= 1:
            return [chunk]
        mid = start + (end - start) // 2
        return self._bounded(body, path, start, mid) + self._bounded(body, path, mid, end)

    def _make(self, body: str, path: str, start: int, end: int, position: int) -> Chunk:
        raw = body[start:end]
        lead = len(raw) - len(raw.lstrip())
        trail = len(raw) - len(raw.rstrip())
        s, e = start + lead, end - trail
        text = body[s:e]
        return Chunk(position, path, text, s, e, self.count(embed_text(path, text)), chunk_hash(path, text))


def _blocks_in(body: str, start: int, end: int) -> list[_Block]:
    out = [b for b in _blocks(body[start:end])]
    for b in out:
        b.start += start
        b.end += start
    return out


def _split_lines(text: str) -> list[str]:
    return text.splitlines(keepends=True) or [text]


def _split_sentences(text: str) -> list[str]:
    """Sentence-ish pieces (after . ! ? : ; or at a newline), keeping every character."""
    pieces: list[str] = []
    pos = 0
    for m in _SENTENCE_END.finditer(text):
        if m.end() > pos:
            pieces.append(text[pos:m.end()])
            pos = m.end()
    if pos < len(text):
        pieces.append(text[pos:])
    return pieces or [text]


def chunk_markdown(markdown: str, title: str = "", max_tokens: int = DEFAULT_MAX_TOKENS,
                   overlap: float = DEFAULT_OVERLAP) -> list[Chunk]:
    return Chunker(max_tokens, overlap).chunk(markdown, title)
