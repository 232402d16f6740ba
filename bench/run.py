#!/usr/bin/env python3
"""Run every bench/*_bench.py and rewrite its section of BENCHMARKS.md.

Each bench module defines `SECTION` (the `## ` heading it owns) and `main() -> str` (that section's
markdown body); a module without `SECTION` writes its own section. Sections of modules that did not run
are kept as they are.

    python bench/run.py            # every benchmark
    python bench/run.py sync       # only bench/sync_bench.py
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = ROOT / "BENCHMARKS.md"
HEADER = "# Benchmarks\n\nWritten by `python3 dev.py bench` (`bench/run.py`); each section by its own `bench/*_bench.py`.\n"


def update_section(text: str, title: str, body: str) -> str:
    """Replace `## title` up to the next `## ` heading (or append it)."""
    block = f"## {title}\n\n{body.strip()}\n\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
    if pattern.search(text):
        return pattern.sub(lambda _m: block, text, count=1)
    return text.rstrip("\n") + "\n\n" + block


def load(path: Path):
    sys.path.insert(0, str(ROOT))
    spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def main(argv: list[str]) -> int:
    wanted = set(argv)
    modules = sorted(BENCH.glob("*_bench.py"))
    if wanted:
        modules = [m for m in modules if m.stem.removesuffix("_bench") in wanted]
    failed = 0
    for path in modules:
        print(f"== {path.name}", flush=True)
        module = load(path)
        try:
            body = module.main()
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
            print(f"{path.name} failed: {exc!r}", file=sys.stderr)
            failed += 1
            continue
        section = getattr(module, "SECTION", None)
        if section is None:  # a module that writes its own section of BENCHMARKS.md (bench/api_bench.py)
            continue
        text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else HEADER
        RESULTS.write_text(update_section(text, section, body), encoding="utf-8")
        print(body, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
