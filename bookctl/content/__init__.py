"""Serving the synced book: tree, parts, chapters, lessons (by slug or route) and their markdown."""
