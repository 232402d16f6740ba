"""Six real Docusaurus books by other authors, as published (no curriculum.md): check, sync, embed, search.

Each book is read from a read-only copy of ../shared/fixtures/real-books (its files are compared before and
after: bookctl writes nothing into a book). Embeddings come from the local OpenAI-compatible server
(tests/fakes/openai_server.py, a real HTTP server with deterministic bag-of-words vectors): the six books are
~3,800 chunks, hours of MiniLM on a busy 2-core machine. `python -m tests.search.warm_cache --real-books`
adds their real MiniLM vectors to the cache where a free machine can afford it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path

import pytest

from bookctl.curriculum import load_book
from tests.conftest import make_workspace
from tests.realbooks import real_book_sites
from tests.search.evalkit import QUERIES, load_queries

SITES = real_book_sites()
pytestmark = pytest.mark.skipif(len(SITES) != 6, reason="the six real books live in ../shared/fixtures/real-books")


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def _read_only_copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    for p in [dst, *dst.rglob("*")]:
        p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return dst


@pytest.fixture(scope="module", params=sorted(SITES))
def real_book(request, tmp_path_factory):
    name = request.param
    root = tmp_path_factory.mktemp("real")
    book = _read_only_copy(SITES[name], root / "site")
    before = _digest(book)
    yield name, make_workspace(root / "ws", book)
    assert _digest(book) == before, "bookctl wrote into the book"
    for p in [book, *book.rglob("*")]:
        os.chmod(p, p.stat().st_mode | stat.S_IWUSR)


def test_check_sync_embed_search(real_book, fake_openai) -> None:
    name, ws = real_book
    ws.env.update({"BOOKCTL_EMBEDDINGS": "openai:text-embedding-3-small", "OPENAI_BASE_URL": fake_openai.base_url,
                   "OPENAI_API_KEY": "test-key"})
    checked = ws.run("check", "--json")
    assert checked.code == 0, checked.stdout
    assert checked.json["errors"] == 0 and checked.json["outline"] == "docs tree" and checked.json["mapping"]
    synced = ws.run("sync", "--json")
    assert synced.code == 0, synced.stderr
    assert synced.json["lessons"] == checked.json["lessons"] and synced.json["uploaded"] == checked.json["written"]
    embedded = ws.run("embed", "--json")
    assert embedded.code == 0, embedded.stderr
    assert embedded.json["chunks"] > 0 and embedded.json["embedded"] > 0
    queries = [q for q in load_queries(QUERIES) if q["book"] == f"real:{name}"]
    assert len(queries) == 2
    for q in queries:
        found = ws.run("search", q["query"], "--json")
        assert found.code == 0, found.stderr
        assert found.json["results"][0]["slug"] == q["slug"], (q, [r["slug"] for r in found.json["results"][:5]])
    again = ws.run("embed", "--json").json
    assert again["embedded"] == 0 and again["requests"] == 0
    assert ws.run("sync", "--json").json["uploaded"] == 0


# Routes of real files, worked out by hand from Docusaurus' documented rules (see test_docusaurus_routes.py).
REAL_ROUTES = {
    "alihaidernoorani__Physical-AI-Humanoid-Robotics-Book": {
        # front-matter id replaces the numbered file name
        "docs/ai-robot-brain/01-synthetic-data-generation.mdx": "/docs/ai-robot-brain/synthetic-data-generation",
        "docs/vla/intro.mdx": "/docs/vla/intro",
        "docs/ros2-nervous-system/03-writing-ros2-agents-python.mdx": "/docs/ros2-nervous-system/writing-ros2-agents-python",
    },
    "hammadurrehman2006__Physical-AI-Humanoid-Robotics-Book": {
        "docs/intro/index.md": "/docs/intro",  # id: overview does not move a category index page
        "docs/module-1/ros2-architecture/index.md": "/docs/module-1/ros2-architecture",
        "docs/module-2/sensor-simulation/lidar-simulation.md": "/docs/module-2/sensor-simulation/lidar-simulation",
    },
    "MrOwaisAbdullah__ai-humanoid-robotics": {
        "docs/intro.md": "/docs/intro",
        "docs/lab-infrastructure/workstation-setup/gpu-optimization.mdx": "/docs/lab-infrastructure/workstation-setup/gpu-optimization",
        "docs/lab-infrastructure/jetson-setup/index.mdx": "/docs/lab-infrastructure/jetson-setup",
    },
    "Farheenzehra99__physical-ai-humanoid-robotic-book": {
        "docs/intro.md": "/docs",  # slug: /
        "docs/00-introduction/INTRODUCTION.md": "/docs/introduction/INTRODUCTION",  # prefix stripped, case kept
        "docs/module-03-ai-robot-brain/chapter-07-isaac-sim-sdk/assets/README.md": "/docs/module-03-ai-robot-brain/chapter-07-isaac-sim-sdk/assets",
    },
    "muhammadz24__Physical-AI-Humanoid-Robotics": {
        "docs/chapter-01/index.mdx": "/docs/chapter-01",
        "docs/chapter-10/sim-to-real.md": "/docs/chapter-10/sim-to-real",
    },
    "Ahmed-Ali-313__Hackathon-I-Physical-AI-Humanoid-Robotics-Textbook": {
        "docs/module-4-vla/capstone-project.md": "/docs/module-4-vla/capstone-project",
    },
}


@pytest.mark.parametrize("name", sorted(REAL_ROUTES))
def test_stored_routes_are_docusaurus_urls(name: str) -> None:
    book, problems = load_book(SITES[name])
    assert not [p for p in problems if p.severity == "error"]
    routes = {l.source.as_posix(): l.route for l in book.written_lessons()}
    for path, url in REAL_ROUTES[name].items():
        assert routes[path] == url, path
    assert len(set(routes.values())) == len(routes)


def test_sidebar_order_follows_positions() -> None:
    """sidebar_position orders lessons: the capstone comes after what it builds on; chapters 6 7 8 by position."""
    book, _ = load_book(SITES["Ahmed-Ali-313__Hackathon-I-Physical-AI-Humanoid-Robotics-Textbook"])
    vla = [l.slug for l in book.all_lessons() if l.slug.startswith("module-4-vla/")]
    assert vla == ["module-4-vla/llm-robotics", "module-4-vla/voice-to-action", "module-4-vla/cognitive-planning",
                   "module-4-vla/capstone-project"]
    book, _ = load_book(SITES["MrOwaisAbdullah__ai-humanoid-robotics"])
    motion = [l.slug.rsplit("/", 1)[1] for l in book.all_lessons() if l.slug.startswith("part-3-motion-control/")]
    assert motion == ["chapter-9-kinematics-dynamics", "chapter-10-balance-locomotion", "chapter-11-manipulation-grasping"]
    book, _ = load_book(SITES["alihaidernoorani__Physical-AI-Humanoid-Robotics-Book"])
    assert [p.folder for p in book.parts] == ["ros2-nervous-system", "digital-twin", "ai-robot-brain", "vla"]  # _category_ positions


def test_no_op_sync_of_a_tree_book_is_answered_from_its_receipt(tmp_path: Path) -> None:
    book = tmp_path / "site"
    shutil.copytree(SITES["Ahmed-Ali-313__Hackathon-I-Physical-AI-Humanoid-Robotics-Textbook"], book)
    ws = make_workspace(tmp_path / "ws", book)
    assert ws.run("sync", "--json").code == 0
    from bookctl.config import load_settings
    from bookctl.pipeline import receipt

    settings = load_settings({**ws.env})
    assert receipt.try_noop(settings) is not None  # a tree book (no curriculum.md) gets the fast path too
    category = book / "docs" / "hardware" / "_category_.json"
    category.write_text(category.read_text().replace('"position": 5', '"position": 0'))
    assert receipt.try_noop(settings) is None  # a _category_.json edit is an input: it may move parts
