"""The head migration revision, read straight from bookctl/migrations/versions (stdlib only, no alembic import).

Every sync checks that the database is at head; importing alembic (with mako) for that costs more than a
no-op sync of a small book. Returns None whenever the history is not a simple line; callers then ask alembic.
"""

from __future__ import annotations

import re
from pathlib import Path

VERSIONS = Path(__file__).resolve().parents[1] / "migrations" / "versions"
_REVISION_RE = re.compile(r"""^(down_)?revision\s*(?::[^=]*)?=\s*(?:['"]([^'"]+)['"]|None)\s*$""", re.MULTILINE)


def quick_head() -> str | None:
    revisions: dict[str, str | None] = {}
    for path in VERSIONS.glob("[0-9]*.py"):
        found = {bool(m[1]): m[2] for m in _REVISION_RE.finditer(path.read_text(encoding="utf-8"))}
        if False not in found or not found[False]:
            return None
        revisions[found[False]] = found.get(True)
    heads = set(revisions) - set(revisions.values())
    return heads.pop() if len(heads) == 1 else None
