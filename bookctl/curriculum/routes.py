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


def is_category_index(file_stem: str, folders: list[str]) -> bool:
    """Docusaurus' category-index convention, on the raw names (number prefixes included):
    `index`, `README` (any case) or a file named like its folder is the folder's page."""
    names = {"index", "readme"}
    if folders:
        names.add(folders[-1].lower())
    return file_stem.lower() in names


def doc_id(rel_parts: list[str], front_id: str | None = None) -> str:
    """The Docusaurus doc id: the folder path with number prefixes stripped, then front-matter `id`
    (else the file name without its number prefix)."""
    base = str(front_id).strip() if front_id else strip_number_prefix(rel_parts[-1])
    return "/".join([*(strip_number_prefix(p) for p in rel_parts[:-1]), base])


def doc_route(base: str, rel_parts: list[str], front_slug: str | None, front_id: str | None = None) -> str:
    """The URL Docusaurus serves a doc at (its permalink under the site's baseUrl).

    `rel_parts` is the path under docs/ (folders, then the file name without `.md`/`.mdx`); `base` is the
    docs plugin's `routeBasePath` ('' when the docs are the site root). As in Docusaurus' `getSlug`:
    a front-matter `slug` starting with '/' is absolute (under the base); a category index page without a
    slug is served at its folder's URL; otherwise the relative slug, or else the doc id's last segment
    (front-matter `id`, else the file name without number prefix), is resolved against the folder's URL
    (number prefixes stripped), so `../x` and `./x` work as they do in a browser.
    """
    folders = [strip_number_prefix(p) for p in rel_parts[:-1]]
    dir_url = "/" + "".join(f"{f}/" for f in folders)
    if front_slug is not None:
        front_slug = str(front_slug).strip()
    if front_slug and front_slug.startswith("/"):
        return normalize_route(base + front_slug)
    if not front_slug and is_category_index(rel_parts[-1], list(rel_parts[:-1])):
        return normalize_route(base + dir_url)
    relative = front_slug or (str(front_id).strip() if front_id else strip_number_prefix(rel_parts[-1]))
    return normalize_route(base + _resolve(relative, dir_url))


def _resolve(relative: str, dir_url: str) -> str:
    """Resolve a relative URL path against a folder URL ending in '/' (RFC 3986 dot segments)."""
    out: list[str] = [s for s in dir_url.split("/") if s]
    for segment in relative.split("/"):
        if segment == "..":
            if out:
                out.pop()
        elif segment not in (".", ""):
            out.append(segment)
    return "/" + "/".join(out)


def normalize_route(route: str) -> str:
    """One spelling per route: a leading slash, no trailing slash (but the site root stays '/')."""
    route = re.sub(r"/+", "/", "/" + route.strip().split("?", 1)[0].split("#", 1)[0])
    # '.' and '..' segments are resolved as a browser would, so '../../etc' cannot hide in a stored route.
    return posixpath.normpath(route).replace("//", "/").rstrip("/") or "/"


def route_under(base: str, route: str) -> bool:
    """True when `route` is the route base itself or inside it (a slug must not climb out with '..')."""
    base = normalize_route(base) if base else "/"
    return base == "/" or route == base or route.startswith(base + "/")
