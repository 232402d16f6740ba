"""Reference vectors from sentence-transformers (torch, CPU) for every chunk of the fixture book.

`tests/search/test_embedders.py` checks the numpy MiniLM against them (mean cosine >= 0.999), so the
offline default stays exact however its forward pass is optimised. torch and sentence-transformers are
bench-only dependencies, needed only to regenerate the file:

    pip install torch==2.13.0 sentence-transformers   # the CPU wheel (see pyproject's bench extra)
    python -m tests.search.st_reference

sentence-transformers truncates at 256 tokens; bookctl embeds a longer chunk window by window and averages
the windows weighted by length. For those chunks the reference is sentence-transformers' own modules
(Transformer, then Pooling: the mean-pooled vector before Normalize) run on each window, combined the
same way; every other chunk is plain `SentenceTransformer.encode`. Texts and vectors (float16) are stored
together, so a later change of the chunker does not invalidate the file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data" / "minilm_st_reference.npz"
FIXTURE_BOOK = REPO.parent / "shared" / "fixtures" / "robotics-book"


def fixture_chunk_texts(book: Path = FIXTURE_BOOK, max_tokens: int = 500) -> list[str]:
    """The embedded text of every chunk `bookctl embed` makes of the book's written lessons, in book order."""
    from bookctl.curriculum import parse_book
    from bookctl.pipeline.chunk import Chunker

    parsed, _warnings = parse_book(book)
    chunker = Chunker(max_tokens=max_tokens)
    return [c.embed_text for lesson in parsed.written_lessons()
            for c in chunker.chunk(lesson.body.decode("utf-8", errors="replace"), lesson.title)]


def st_vectors(texts: list[str]) -> np.ndarray:
    import torch
    from sentence_transformers import SentenceTransformer

    from bookctl.llm.local_minilm import MAX_SEQ, model_dir

    model = SentenceTransformer(str(model_dir()), device="cpu")
    assert model.max_seq_length == MAX_SEQ
    tok = model.tokenizer
    out = np.asarray(model.encode(texts, batch_size=32, normalize_embeddings=True), dtype=np.float32)
    body = MAX_SEQ - 2
    for i, text in enumerate(texts):
        ids = tok(text, add_special_tokens=False)["input_ids"]
        if len(ids) <= body:
            continue  # encode() saw the whole text
        total = np.zeros(out.shape[1], dtype=np.float64)
        for start in range(0, len(ids), body):
            window = [tok.cls_token_id, *ids[start:start + body], tok.sep_token_id]
            features = {"input_ids": torch.tensor([window]), "attention_mask": torch.ones(1, len(window), dtype=torch.long),
                        "token_type_ids": torch.zeros(1, len(window), dtype=torch.long)}
            with torch.no_grad():
                pooled = model[1](model[0](features))["sentence_embedding"][0].numpy()
            total += pooled * len(window)
        out[i] = total / np.linalg.norm(total)
    return out


def main(argv: list[str]) -> int:
    texts = fixture_chunk_texts()
    vectors = st_vectors(texts)
    DATA.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(DATA, texts=np.array(texts), vectors=vectors.astype(np.float16))
    print(f"saved {len(texts)} reference vectors to {DATA}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
