"""The one lesson resolver: every API path that takes a lesson (content, personalize, progress) and every other
edge names a lesson through `resolve`.

A reference may be any of:
- a slug: `what-is-physical-ai/lesson-embodiment-hypothesis`
- a route: `/docs/Physical-AI-Foundations/what-is-physical-ai/lesson-embodiment-hypothesis` (slash optional)
- a Docusaurus doc id / file path: `01-Physical-AI-Foundations/01-what-is-physical-ai/01-lesson-x[.md]`
- the browser's `window.location.pathname` (or a whole URL) of the deployed site: the site's baseUrl
  (BOOKCTL_SITE_BASE_URL, e.g. `/ai-native-robotics/`) is stripped here, at request time, so no re-sync is needed;
  a trailing slash, percent-encoding, a `?query` or a `#hash` do not matter.

Every interpretation is tried; if they lead to more than one lesson the answer is a 404 that lists the
candidates, never a guess.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from bookctl.errors import NotFoundError

if TYPE_CHECKING:
    from bookctl.content.service import LessonEntry, Snapshot

MAX_REF_CHARS = 1000


def normalize_ref(ref: str) -> str:
    """A reference as a bare path: no scheme/host, no ?query or #hash, percent-decoded, single slashes, no
    leading or trailing slash."""
    text = ref.strip()[:MAX_REF_CHARS]
    if "://" in text:
        text = urlsplit(text).path
    # split before decoding: an encoded %3F or %23 is part of the name, not a query or a hash
    text = text.split("#", 1)[0].split("?", 1)[0]
    text = unquote(text)
    return re.sub(r"/+", "/", text).strip().strip("/")


def doc_id(path: str) -> str:
    """`docs/01-a/02-b.md` -> `01-a/02-b`."""
    path = path.strip("/").removeprefix("docs/")
    for suffix in (".mdx", ".md"):
        path = path.removesuffix(suffix)
    return path


def _variants(bare: str, site_base: str) -> list[str]:
    variants = [bare]
    base = site_base.strip("/")
    if base and (bare == base or bare.startswith(base + "/")):
        variants.append(bare[len(base):].strip("/"))
    return variants


def candidates(snap: "Snapshot", ref: str, site_base: str = "") -> list["LessonEntry"]:
    """Every lesson `ref` can mean (usually one; none when unknown; several when ambiguous), in a stable order."""
    found: dict[object, LessonEntry] = {}
    route_base = snap.route_base.strip("/")
    for bare in _variants(normalize_ref(ref), site_base):
        hits = [snap.by_slug.get(bare), snap.by_route.get("/" + bare if bare else "/")]
        if bare:
            key = doc_id(bare)
            hits.append(snap.by_doc_id.get(key))
            hits.extend(snap.doc_id_clashes.get(key, ()))
            if route_base and bare.startswith(route_base + "/"):  # the route base in front of a slug
                hits.append(snap.by_slug.get(bare[len(route_base) + 1:]))
        for entry in hits:
            if entry is not None:
                found.setdefault(entry.id, entry)
    return list(found.values())


def resolve(snap: "Snapshot", ref: str, site_base: str = "") -> "LessonEntry":
    """The one lesson `ref` names; NotFoundError naming what was asked for, with the candidates if ambiguous."""
    shown = ref.strip()[:200]
    found = candidates(snap, ref, site_base)
    if len(found) == 1:
        return found[0]
    if not found:
        raise NotFoundError(f"no lesson with slug or route {shown!r}", detail={"lesson": shown})
    raise NotFoundError(
        f"{shown!r} could name {len(found)} lessons; use one of their slugs",
        detail={"lesson": shown, "reason": "ambiguous",
                "candidates": [{"slug": e.lesson.slug, "route": e.lesson.route, "title": e.lesson.title}
                               for e in found]})


def split_action(ref: str, actions: tuple[str, ...]) -> tuple[str, str]:
    """`slug/start` -> (`slug`, `start`); the last segment must be one of `actions` (else 404)."""
    base, _, action = ref.strip().strip("/").rpartition("/")
    if action not in actions or not base:
        raise NotFoundError(f"unknown progress action: use /api/progress/lessons/{{slug}}/{'|'.join(actions)}",
                            detail={"allowed": list(actions)})
    return base, action
