"""A plain DB-API connection (sqlite3 / psycopg) for the read-only fast paths that must not import SQLAlchemy
(sync receipts in pipeline/receipt.py, the no-op embed in pipeline/embed_quick.py)."""

from __future__ import annotations

from pathlib import Path


def connect(url: str):
    """A connection for reading, or None when the URL is not one we read this way (or the SQLite file is missing)."""
    if url.startswith("sqlite:///"):
        import sqlite3

        path = url.removeprefix("sqlite:///")
        if not path or path == ":memory:" or not Path(path).is_file():
            return None
        return sqlite3.connect(path, timeout=5)  # reads only; never creates (checked above)
    if url.startswith("postgresql+psycopg://"):
        import psycopg

        return psycopg.connect("postgresql://" + url.removeprefix("postgresql+psycopg://"), connect_timeout=5)
    return None
