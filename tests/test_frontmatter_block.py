"""split_block: the one way every reader of a synced body separates front matter from the markdown."""

from __future__ import annotations

import pytest

from bookctl.curriculum.frontmatter import split_block, strip_front_matter


@pytest.mark.parametrize("text, front, body", [
    ("---\ntitle: X\n---\n# Body\n", "---\ntitle: X\n---\n", "# Body\n"),
    ("---\r\ntitle: X\r\n---\r\n# Body\r\n", "---\r\ntitle: X\r\n---\r\n", "# Body\r\n"),
    ("\ufeff---\ntitle: X\n...\nbody", "\ufeff---\ntitle: X\n...\n", "body"),
    ("---\n---\nbody", "---\n---\n", "body"),
    ("---\ntitle: X\n---", "---\ntitle: X\n---", ""),
    ("# No front matter\n---\nx: 1\n---\n", "", "# No front matter\n---\nx: 1\n---\n"),
    ("---\nnever closed\n# Body\n", "", "---\nnever closed\n# Body\n"),
])
def test_split_block(text, front, body):
    assert split_block(text) == (front, body)
    assert strip_front_matter(text) == body


def test_parsed_front_matter_is_the_callers_own_copy_even_when_it_holds_itself():
    """The YAML answer is cached by text: each caller gets its own copy, and a list that holds itself through an
    alias (`&0 [*0]`, found by the fuzz test) is copied as such instead of recursing forever."""
    from bookctl.curriculum.frontmatter import split_front_matter

    first, _line, problems = split_front_matter("---\ntags: [a, b]\nmeta: {k: [1]}\n---\n# x\n", "a.md")
    assert problems == [] and first == {"tags": ["a", "b"], "meta": {"k": [1]}}
    first["tags"].append("mutated")
    first["meta"]["k"].append(2)
    again, _line, _problems = split_front_matter("---\ntags: [a, b]\nmeta: {k: [1]}\n---\n# x\n", "b.md")
    assert again == {"tags": ["a", "b"], "meta": {"k": [1]}}
    looped, _line, problems = split_front_matter("---\n0: &0 [*0]\n---\n", "c.md")
    assert problems == [] and looped["0"][0] is looped["0"]
