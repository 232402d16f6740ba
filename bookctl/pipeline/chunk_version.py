"""What identifies a chunk set, importable without the chunker (numpy, tiktoken): the no-op `embed` reads
it before deciding whether anything needs chunking at all."""

from __future__ import annotations

from bookctl.pipeline.mdx import PREPROCESS_VERSION  # stdlib only (re)

CHUNKER_VERSION = "md-2"  # md-2: fences, headings and blank lines indented 1-3 spaces are read as such


def source_marker(content_hash: str | None, chunk_tokens: int) -> str:
    """What a chunk was cut from: the lesson body's hash (192 bits of it), chunker version and bound (<= 64 chars)."""
    # The MDX pre-processing version is in the marker, not in chunk hashes: lessons are re-chunked when it
    # changes, while a chunk whose text did not change keeps its hash (and its cached vector).
    return f"{(content_hash or '')[:48]}:{CHUNKER_VERSION}{PREPROCESS_VERSION}:{chunk_tokens}"
