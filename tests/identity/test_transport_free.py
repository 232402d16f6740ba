"""bookctl.identity is the one verification every edge uses (API, MCP server): it must not need a web framework."""

from __future__ import annotations

import subprocess
import sys


def test_identity_imports_without_litestar():
    code = ("import sys, bookctl.identity; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('litestar', 'starlette', 'uvicorn')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
