"""A tiny local embedding model for llm, so `llm embed-multi` can be timed without a network or a real model."""

import hashlib

import llm


class TinyEmbed(llm.EmbeddingModel):
    model_id = "tiny-embed"
    batch_size = 256

    def embed_batch(self, items):
        for item in items:
            data = item.encode("utf-8") if isinstance(item, str) else item
            yield [b / 255.0 for b in hashlib.sha256(data).digest()[:16]]


@llm.hookimpl
def register_embedding_models(register):
    register(TinyEmbed())
