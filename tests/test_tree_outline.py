"""The outline from a docs/ tree, on generated trees: no crash, unique routes, a stable order."""

from __future__ import annotations

import json
import random
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bookctl.curriculum import load_book

WORDS = ["alpha", "beta", "gamma", "delta", "omega", "sigma"]


@st.composite
def folder(draw, depth: int, max_depth: int):
    """A folder: docs and sub-folders with distinct names (docs and folders from disjoint pools, as
    a doc `x.md` next to a folder `x/` with an index would be one URL for Docusaurus too)."""
    entries = []
    doc_names = draw(st.lists(st.sampled_from(WORDS), min_size=0 if depth else 1, max_size=4, unique=True))
    for i, name in enumerate(doc_names):
        front = {"title": f"{name.title()} {depth}.{i}"}
        prefix = draw(st.sampled_from(["", f"{i + 1:02d}-", f"{i}_"]))
        if draw(st.booleans()):
            front["sidebar_position"] = draw(st.integers(0, 5))
        choice = draw(st.sampled_from(["plain", "id", "slug"]))
        if choice == "id":
            front["id"] = f"id-{name}"
        elif choice == "slug":
            front["slug"] = f"s-{name}"
        entries.append(("doc", f"{prefix}{name}.md", front))
    if depth and draw(st.booleans()):
        entries.append(("doc", draw(st.sampled_from(["index.md", "README.md"])), {"title": f"Index {depth}"}))
    if depth < max_depth:
        for j, name in enumerate(draw(st.lists(st.sampled_from(["mod", "unit", "part"]), max_size=3, unique=True))):
            prefix = draw(st.sampled_from(["", f"{j + 1:02d}-"]))
            category = draw(st.one_of(st.none(), st.fixed_dictionaries(
                {"label": st.sampled_from(["Basics", "Advanced", "Extras"]), "position": st.integers(0, 4)})))
            entries.append(("dir", f"{prefix}{name}", (category, draw(folder(depth + 1, max_depth)))))
    return entries


def write(root: Path, entries, order: random.Random) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for kind, name, payload in order.sample(entries, len(entries)):  # creation order must not matter
        if kind == "doc":
            body = "".join(f"{k}: {json.dumps(v)}\n" for k, v in payload.items())
            (root / name).write_text(f"---\n{body}---\n\nSome prose about {name}.\n")
        else:
            category, sub = payload
            write(root / name, sub, order)
            if category is not None:
                (root / name / "_category_.json").write_text(json.dumps(category))


def outline(book_dir: Path):
    book, problems = load_book(book_dir)
    return book, problems, [(l.route, l.slug, l.type, l.part_number, l.chapter_number) for l in book.all_lessons()]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(tree=st.integers(1, 4).flatmap(lambda depth: folder(0, depth)), seed=st.integers(0, 2**16))
def test_generated_trees(tree, seed: int) -> None:
    base = Path(tempfile.mkdtemp(prefix="bookctl-tree-"))
    try:
        write(base / "one" / "docs", tree, random.Random(seed))
        write(base / "two" / "docs", tree, random.Random(seed + 1))
        book, problems, first = outline(base / "one")
        assert not [p for p in problems if p.severity == "error"], problems
        routes = [l.route for l in book.all_lessons()]
        assert len(routes) == len(set(routes)), routes
        assert len({l.slug for l in book.all_lessons()}) == len(routes)
        assert all(r.startswith("/docs") for r in routes)
        assert outline(base / "one")[2] == first  # the same tree twice: the same outline
        assert outline(base / "two")[2] == first  # created in another order: the same outline
        numbers = [c.number for c in book.all_chapters()]
        assert numbers == list(range(1, len(numbers) + 1))
    finally:
        shutil.rmtree(base, ignore_errors=True)
