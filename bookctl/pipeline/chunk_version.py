"""What identifies a chunk set, importable without the chunker (numpy, tiktoken): the no-op `embed` reads
it before deciding whether anything needs chunking at all."""

from __future__ import annotations

CHUNKER_VERSION = "md-2"  # md-2: fences, headings and blank lines indented 1-3 spaces are read as such


def source_marker(content_hash: str | None, chunk_tokens: int) -> str:
    """What a chunk was cut from: the lesson body's hash (192 bits of it), chunker version and bound (<= 64 chars)."""
    return f"{(content_hash or '')[:48]}:{CHUNKER_VERSION}:{chunk_tokens}"
