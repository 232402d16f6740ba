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
