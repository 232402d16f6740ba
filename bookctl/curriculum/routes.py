"""Docusaurus naming rules: number prefixes, doc routes and slugs."""

from __future__ import annotations

import posixpath
import re
import unicodedata

# Docusaurus' DefaultNumberPrefixParser: "01-intro" -> "intro"; "2023-01-01" style dates are kept.
_NUMBER_PREFIX = re.compile(r"^(?P<num>\d+)\s*[-_.]+\s*(?=[^-_.\s])")
_DATEISH = re.compile(r"^\d+[-_.]\d+")


def strip_number_prefix(name: str) -> str:
    if _DATEISH.match(name):
        return name
    return _NUMBER_PREFIX.sub("", name, count=1)


def number_prefix(name: str) -> int | None:
    if _DATEISH.match(name):
        return None
    m = _NUMBER_PREFIX.match(name)
    return int(m["num"]) if m else None


def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return text or "untitled"


def doc_route(base: str, rel_parts: list[str], front_slug: str | None) -> str:
    """The URL Docusaurus serves a doc at.

    `rel_parts` is the path under docs/ (folders and file name without `.md`). `index` (and a file named
    like its folder) map to the folder's route; a front-matter `slug` is absolute when it starts with `/`,
    otherwise relative to the folder.
    """
    folders = [strip_number_prefix(p) for p in rel_parts[:-1]]
    stem = strip_number_prefix(rel_parts[-1])
    if front_slug is not None:
        front_slug = str(front_slug).strip()
        if front_slug.startswith("/"):
            return normalize_route(base + front_slug)
        return normalize_route("/".join([base, *folders, front_slug]))
    is_index = stem.lower() in ("index", "readme") or (folders and stem == folders[-1])
    segments = folders if is_index else [*folders, stem]
    return normalize_route("/".join([base, *segments]))


def normalize_route(route: str) -> str:
    """One spelling per route: a leading slash, no trailing slash (but the site root stays '/')."""
    route = re.sub(r"/+", "/", "/" + route.strip().split("?", 1)[0].split("#", 1)[0])
    # '.' and '..' segments are resolved as a browser would, so '../../etc' cannot hide in a stored route.
    return posixpath.normpath(route).replace("//", "/").rstrip("/") or "/"


def route_under(base: str, route: str) -> bool:
    """True when `route` is the route base itself or inside it (a slug must not climb out with '..')."""
    base = normalize_route(base) if base else "/"
    return base == "/" or route == base or route.startswith(base + "/")
