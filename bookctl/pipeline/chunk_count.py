"""Token counts for the chunker: every section of a lesson, and every piece of its heading paths, from one
tiktoken call.

Why: a section's exact token count decides whether it is one chunk, so every section must be counted, and
that tokenizer work is the largest single cost. One call per section would add tiktoken's per-call overhead
thousands of times, so the strings are joined and encoded once, and each one's count is read off the joined
tokens (`count_pieces`).

That is exact, not an estimate, because of how tiktoken splits text: a regex first cuts it into
pre-tokens (cl100k/o200k: letters with at most one leading non-letter, 1-3 digits, punctuation runs with
the newlines after them, whitespace runs), and each pre-token is then encoded on its own. Where a
position is a pre-token boundary both in the joined text and in the piece on its own, no token straddles
it and the counts on either side add up. These positions are such boundaries in any text containing them:

1. the start of a text, or a position just after a newline and before a non-space character (no
   pre-token continues past a newline into text);
2. a space after a non-space character (" word", " (" and "  " start there; nothing before it can
   continue into the space).

Where a piece's ends turn out not to be token boundaries in the joined text, it is counted directly.
tests/search/test_chunk.py checks counts against direct ones.
"""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np


@lru_cache(maxsize=4)
def token_lengths(enc) -> np.ndarray:
    """UTF-8 length of every token id of an encoding (per encoding, not per text).

    tiktoken's public API decodes the table in ~0.2 s, too slow for every process that chunks one lesson, so
    the table is kept beside tiktoken's BPE files (bookctl.llm.tokens) after the first time."""
    from bookctl.llm.tokens import default_cache_dir

    path = default_cache_dir() / f"{enc.name}-{enc.n_vocab}-token-lengths.npy"
    try:
        lengths = np.load(path, allow_pickle=False)
        if lengths.shape == (enc.n_vocab,):
            return lengths.astype(np.int64)
    except (OSError, ValueError):
        pass
    lengths = _decode_lengths(enc)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp.npy")
        np.save(tmp, lengths.astype(np.int16))
        os.replace(tmp, path)  # atomic: a concurrent process reads the whole table or none
    except OSError:
        pass  # a read-only cache: recomputed next time
    return lengths


def _decode_lengths(enc) -> np.ndarray:
    lengths = np.zeros(enc.n_vocab, dtype=np.int64)
    start = 0
    while start < enc.n_vocab:  # whole runs at a time; a hole (an id with no token) ends a run
        ids = list(range(start, enc.n_vocab))
        try:
            lengths[start:] = np.fromiter(map(len, enc.decode_tokens_bytes(ids)), dtype=np.int64, count=len(ids))
            break
        except KeyError as exc:
            hole = int(exc.args[0])
        if hole > start:
            run = list(range(start, hole))
            lengths[start:hole] = np.fromiter(map(len, enc.decode_tokens_bytes(run)), dtype=np.int64, count=len(run))
        start = hole + 1
    return lengths


def body_tokens(enc, body: str) -> np.ndarray | None:
    """The text's tokens, or None if it cannot be encoded as is (lone surrogates: count directly)."""
    try:
        # no special tokens allowed or disallowed: exactly encode_ordinary, as an array (no Python ints)
        return enc.encode_to_numpy(body, disallowed_special=())
    except UnicodeEncodeError:
        return None


def tokens_between(cum: np.ndarray, spans: list[tuple[int, int]]) -> list[int | None]:
    """Tokens of a text within each byte span (cum: cumulative byte length of the text's tokens), or None
    where a span end is not a token boundary (then the caller counts directly)."""
    if not spans:
        return []
    bounds = np.asarray(spans, dtype=np.int64).reshape(-1)
    idx = np.searchsorted(cum, bounds, side="right")
    exact = (bounds == 0) | (cum[np.maximum(idx - 1, 0)] == bounds)
    diffs = (idx[1::2] - idx[0::2]).tolist()
    ok = (exact[0::2] & exact[1::2]).tolist()
    return [d if good else None for d, good in zip(diffs, ok)]


def count_pieces(enc, lengths: np.ndarray, pieces: list[str]) -> list[int]:
    """Exact counts of many strings from one tiktoken call on them joined. Each piece must be empty,
    end with a non-space character, or end with "\n\n" after one, and start with a non-space character or
    a single space. Joined with " \n" after the first kind (a space after a non-space character is a
    boundary, and a newline before a space or a non-space character ends its pre-token) and nothing after
    the second (the newlines end their pre-token either way), every piece starts and ends on a boundary."""
    joined: list[str] = []
    spans: list[tuple[int, int]] = []
    at = 0
    for piece in pieces:
        size = len(piece.encode("utf-8"))
        spans.append((at, at + size))
        sep = "" if not piece or piece.endswith("\n\n") else " \n"
        joined += (piece, sep)
        at += size + len(sep)
    ids = body_tokens(enc, "".join(joined))
    counts = tokens_between(np.cumsum(lengths[ids]), spans) if ids is not None and len(ids) else [None] * len(pieces)
    return [n if n is not None else len(enc.encode_ordinary(piece)) for n, piece in zip(counts, pieces)]
