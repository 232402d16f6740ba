"""The head migration revision, as Alembic's own ScriptDirectory computes it, cached for the no-op paths.

Every sync checks that the database is at head, and importing alembic (with mako) to ask costs more than a
no-op sync of a small book. So the head Alembic computed is remembered in a small cache file keyed by a
fingerprint of the versions directory (every file's name, size and mtime): while no migration file changes,
the check is one `scandir` and one small read (stdlib only); when one changes, or the cache cannot be read
or written (a read-only home), Alembic is asked again. The answer is always Alembic's; the cache only
decides how often it is asked.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

VERSIONS = Path(__file__).resolve().parents[1] / "migrations" / "versions"
_memo: dict[str, str | None] = {}


def versions_fingerprint(versions: Path = VERSIONS) -> str:
    digest = hashlib.sha256(str(versions).encode())
    with os.scandir(versions) as entries:
        for entry in sorted((e for e in entries if e.name.endswith(".py")), key=lambda e: e.name):
            stat = entry.stat()
            digest.update(f"{entry.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        home = Path.home()
        if home.is_dir():
            base = str(home / ".cache")
        else:
            import tempfile  # only without a home directory (some containers)

            base = tempfile.gettempdir()
    # one file per installed copy: two checkouts (or a venv and a wheel install) sharing a home would
    # otherwise overwrite each other's entry and each would ask Alembic again on every run
    install = hashlib.sha256(str(VERSIONS).encode()).hexdigest()[:16]
    return Path(base) / "bookctl" / f"migration-head-{install}.json"


def alembic_head() -> str | None:
    """The single head according to Alembic (imports alembic; None when the history has no single head)."""
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

    from bookctl.db.migrate import alembic_config

    try:
        return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    except CommandError:  # several heads: callers then fall back to the full Alembic check
        return None


def quick_head() -> str | None:
    """Alembic's head, from the fingerprint-keyed cache when the versions directory has not changed."""
    key = versions_fingerprint()
    if key in _memo:
        return _memo[key]
    path = cache_file()
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
        if cached.get("fingerprint") == key:
            _memo[key] = cached["head"]
            return cached["head"]
    except (OSError, ValueError, KeyError, AttributeError):
        pass
    head = alembic_head()
    _memo[key] = head
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"fingerprint": key, "head": head}), encoding="utf-8")
        os.replace(tmp, path)  # atomic: a concurrent reader sees the old or the new file, never half of one
    except OSError:
        pass  # no writable cache: Alembic is simply asked every time
    return head
