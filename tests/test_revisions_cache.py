"""The migration-head cache behind the no-op paths: Alembic's answer, remembered per installed copy."""

from __future__ import annotations

import json

from bookctl.db import revisions


def test_quick_head_is_alembics_head_and_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(revisions, "_memo", {})
    head = revisions.quick_head()
    assert head == revisions.alembic_head() and head
    stored = json.loads(revisions.cache_file().read_text())
    assert stored == {"fingerprint": revisions.versions_fingerprint(), "head": head}


def test_two_installed_copies_keep_separate_entries(tmp_path, monkeypatch):
    """Two checkouts (or a checkout and a wheel install) sharing a home must not overwrite each other's entry:
    each would then import Alembic on every no-op run (a test caught SQLAlchemy loaded by a no-op embed)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = revisions.cache_file()
    other = tmp_path / "elsewhere" / "migrations" / "versions"
    monkeypatch.setattr(revisions, "VERSIONS", other)
    assert revisions.cache_file() != first and revisions.cache_file().parent == first.parent
