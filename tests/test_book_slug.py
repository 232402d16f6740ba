"""book_slug (outline only) names a book exactly as load_book (the whole book) does."""

from __future__ import annotations

from bookctl.curriculum import book_slug, load_book


def test_book_slug_matches_load_book(fixture_book, sample_book, tmp_path):
    untitled = tmp_path / "My Untitled Book"
    (untitled / "docs").mkdir(parents=True)
    (untitled / "curriculum.md").write_text("## Part 1 — Only (Week 1)\n**Layer:** L1\n**Folder:** `p1`\n", encoding="utf-8")
    missing = tmp_path / "no-outline-here"
    missing.mkdir()

    for root in (fixture_book, sample_book, untitled, missing):
        assert book_slug(root) == load_book(root)[0].slug
    assert book_slug(fixture_book) == "physical-ai-humanoid-robotics"
    assert book_slug(untitled) == "my-untitled-book"
    assert book_slug(fixture_book, "given") == "given"
