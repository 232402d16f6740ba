"""Heading-aware markdown chunking, with markdown-it-py's block rules.

- Splits at headings; each chunk keeps its heading path (`Lesson › Section › Subsection`).
- Never cuts inside a fenced code block unless that block alone exceeds the bound (then by lines).
- Drops front matter, and MDX syntax (`pipeline/mdx.py`; the body below is that search text). Measures length in tiktoken tokens (offline encodings, see bookctl.llm.tokens).
- Every chunk's *embedded text* (heading path + passage) is within `max_tokens`; consecutive chunks of
  one section overlap by about `overlap` of the bound, at sentence/line granularity.
- Nothing is lost: every chunk is a span `body[start:end]`, and the spans cover every non-blank character.
- Identity is stable: `chunk_hash` = sha256(chunker version + normalised embedded text).

The block structure (headings; fences and text for a section over the bound) comes from `chunk_blocks`;
tiktoken counts each section's text and heading path, once. All of it runs on the calling thread: a worker
thread that scanned while tiktoken encoded cost more CPU than it saved wall time on a busy 2-core machine
(BENCHMARKS.md, "Chunking beside its peers").
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace

from bookctl.curriculum.frontmatter import strip_front_matter
from bookctl.llm.tokens import DEFAULT_ENCODING, get_encoding
from bookctl.pipeline.chunk_blocks import Block as _Block, Heading, blocks as _blocks, headings
from bookctl.pipeline.mdx import search_text

from bookctl.pipeline.chunk_version import CHUNKER_VERSION  # re-exported; bump it there
DEFAULT_MAX_TOKENS = 500
DEFAULT_OVERLAP = 0.15
PATH_SEP = " › "

_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+|\n")
_NON_SPACE = re.compile(r"\S")  # same characters as str.strip() removes


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
    # str.split() splits on exactly the characters regex \s matches, and drops them at both ends
    return " ".join(text.split())


def chunk_hash(heading_path: str, text: str) -> str:
    payload = f"{CHUNKER_VERSION}\0{normalise(embed_text(heading_path, text))}"
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class _Section:
    """A section as planned before its size is known: everything about its one-chunk form but the count."""
    path: str  # heading path as embedded
    prefix: int  # tokens of the path and the blank line after it
    start: int  # the section, body[start:end]
    end: int
    s: int  # its stripped text starts here
    text: str
    chunk_hash: str  # of its one-chunk form
    tokens: int  # of its text


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
        body = search_text(strip_front_matter(markdown))  # MDX syntax out, its prose kept (pipeline/mdx.py)
        chunks: list[Chunk] = []
        for sec in self._plan(body, title):
            if sec.prefix + sec.tokens <= self.max_tokens:  # the common case: one chunk, counted once
                chunks.append(Chunk(len(chunks), sec.path, sec.text, sec.s, sec.s + len(sec.text),
                                    sec.prefix + sec.tokens, sec.chunk_hash))
                continue
            # over the bound: only now is the section's block structure needed (fences are kept whole)
            inner = [_Block(b.start + sec.start, b.end + sec.start, b.kind, b.level, b.title)
                     for b in _blocks(body[sec.start:sec.end])]
            chunks.extend(self._pack(body, sec.path, sec.start, sec.end, len(chunks), inner))
        return chunks

    def _plan(self, body: str, title: str) -> list[_Section]:
        """Sections with their paths, texts, hashes and token counts (each counted on its own: one tiktoken
        call per section costs less than joining them into one call and reading the counts off its tokens)."""
        prefixes: dict[tuple[str, ...], tuple[str, int]] = {}
        out: list[_Section] = []
        cap = self.max_tokens // 4
        for parts, start, end in self._sections(body, title, headings(body)):
            raw = body[start:end]
            text = raw.lstrip()
            s = start + len(raw) - len(text)
            text = text.rstrip()
            if not text:
                continue
            if parts not in prefixes:
                path = PATH_SEP.join(parts)
                prefix = self._prefix_tokens(path)
                prefixes[parts] = self._cut_path(path) if prefix > cap else (path, prefix)
            path, prefix = prefixes[parts]
            out.append(_Section(path, prefix, start, end, s, text, chunk_hash(path, text), self.count(text)))
        return out

    def _prefix_tokens(self, path: str) -> int:
        # exact: "\n\n" ends a pre-token and the passage starts with non-space, so counts add up
        return self.count(path + "\n\n") if path else 0

    # -- sections: (heading path as its non-empty parts, start, end)
    def _sections(self, body: str, title: str, heads: list[Heading]) -> list[tuple[tuple[str, ...], int, int]]:
        root = title.strip()
        stack: list[tuple[int, str]] = []
        sections: list[tuple[tuple[str, ...], int, int]] = []
        current_path, current_start = (root,) if root else (), 0
        pending_heading_only = False
        for i, head in enumerate(heads):
            if head.start > current_start and not pending_heading_only and _NON_SPACE.search(body, current_start, head.start):
                sections.append((current_path, current_start, head.start))
                current_start = head.start
            # a heading with nothing but its own line under it is merged into the next section
            while stack and stack[-1][0] >= head.level:
                stack.pop()
            if head.level == 1 and not stack and head.title and head.title == root:
                stack = []  # the lesson's own H1 repeats the title
            else:
                stack.append((head.level, head.title))
            current_path = tuple(p for p in [root, *[t for _, t in stack]] if p)
            # the blocks between this heading and the next: any text in them makes it more than a heading
            following = heads[i + 1].start if i + 1 < len(heads) else len(body)
            pending_heading_only = not _NON_SPACE.search(body, head.end, following)
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

    def _cut_path(self, path: str) -> tuple[str, int]:
        """A heading path may use at most a quarter of the bound: absurdly long headings are cut. Returns the
        path as embedded, and its tokens with the blank line after it."""
        cap = self.max_tokens // 4
        ids = self.enc.encode_ordinary(path)
        while ids:
            ids = ids[: max(0, min(len(ids) - 1, cap - 4))]
            short = self.enc.decode(ids).rstrip() + "…"
            prefix = self.count(short + "\n\n")
            if prefix <= cap:
                return short, prefix
        return "", 0

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
