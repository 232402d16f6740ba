"""Chunker: heading paths, code fences kept whole, bounds, overlap, stable identity, nothing lost."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from bookctl.pipeline.mdx import search_text
from bookctl.pipeline.chunk import CHUNKER_VERSION, Chunker, chunk_hash, chunk_markdown, strip_front_matter
from bookctl.pipeline.chunk_blocks import blocks, headings

FIXTURE_DOCS = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "robotics-book" / "docs"


def covered(body: str, chunks) -> set[int]:
    seen: set[int] = set()
    for c in chunks:
        assert body[c.start:c.end] == c.text
        seen.update(range(c.start, c.end))
    return seen


def assert_nothing_lost(markdown: str, chunks) -> None:
    body = search_text(strip_front_matter(markdown))  # the chunker's body: MDX syntax removed (pipeline/mdx.py)
    seen = covered(body, chunks)
    missing = [i for i, ch in enumerate(body) if not ch.isspace() and i not in seen]
    assert not missing, f"characters lost: {body[missing[0]:missing[0] + 40]!r}"


def test_heading_path_front_matter_and_sections():
    md = "---\ntitle: T\nsidebar_position: 2\n---\n# Lesson\n\nIntro.\n\n## Setup\n\nInstall it.\n\n### Linux\n\nUse apt.\n"
    chunks = chunk_markdown(md, "My Lesson")
    assert [c.heading_path for c in chunks] == [
        "My Lesson › Lesson", "My Lesson › Lesson › Setup", "My Lesson › Lesson › Setup › Linux"]
    assert all("sidebar_position" not in c.text for c in chunks)
    assert chunks[2].text == "### Linux\n\nUse apt."
    assert_nothing_lost(md, chunks)


def test_code_fence_is_never_cut_when_it_fits():
    code = "```python\n" + "\n".join(f"x_{i} = compute({i})  # step {i}" for i in range(10)) + "\n```\n"
    prose = " ".join(f"Sentence number {i} explains the idea." for i in range(60))
    md = f"## Section\n\n{prose}\n\n{code}\n{prose}\n"
    chunker = Chunker(max_tokens=200)
    chunks = chunker.chunk(md, "L")
    fence = md.index("```python")
    fence_end = md.index("```\n", fence + 3) + 3
    holders = [c for c in chunks if c.start <= fence < c.end]
    assert holders and all(c.end >= fence_end for c in holders), "the code block was split"
    assert all(c.token_count <= 200 for c in chunks)
    assert_nothing_lost(md, chunks)


def test_huge_code_block_is_split_by_lines_within_bound():
    code = "```\n" + "\n".join(f"line {i} " + "tok " * 12 for i in range(200)) + "\n```\n"
    chunks = Chunker(max_tokens=120).chunk(code, "Big")
    assert len(chunks) > 5 and all(c.token_count <= 120 for c in chunks)
    assert_nothing_lost(code, chunks)


def test_overlap_between_consecutive_chunks_of_a_section():
    prose = " ".join(f"Fact {i} is about robots and sensors." for i in range(200))
    chunks = Chunker(max_tokens=150).chunk("## S\n\n" + prose, "L")
    assert len(chunks) > 3
    overlapping = sum(1 for a, b in zip(chunks, chunks[1:]) if b.start < a.end)
    assert overlapping == len(chunks) - 1


def test_identity_is_stable_and_versioned():
    a = chunk_markdown("## A\n\nSame   text.\n", "L")
    b = chunk_markdown("## A\n\nSame text.\n", "L")
    assert a[0].chunk_hash == b[0].chunk_hash  # normalised whitespace
    assert a[0].chunk_hash == chunk_hash(a[0].heading_path, "## A\n\nSame text.")
    assert CHUNKER_VERSION


def test_real_fixture_lessons_within_bound_and_complete():
    files = sorted(FIXTURE_DOCS.rglob("*.md"))
    assert files
    chunker = Chunker(max_tokens=500)
    for f in files:
        md = f.read_text(encoding="utf-8")
        chunks = chunker.chunk(md, f.stem)
        assert all(c.token_count <= 500 for c in chunks), f
        assert all(c.token_count == chunker.count(c.embed_text) for c in chunks), f
        assert_nothing_lost(md, chunks)


_md_line = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300),
    st.builds(lambda level, t: "#" * level + " " + t, st.integers(1, 6), st.text(max_size=40)),
    st.builds(lambda body: "```\n" + body + "\n```", st.text(max_size=800)),
    st.just(""), st.just("---"), st.just("- item"), st.just("> quote"), st.just("| a | b |\n|---|---|\n| 1 | 2 |"),
    st.builds(lambda w, n: (w + " ") * n, st.sampled_from(["word", "ロボット", "x=1;", "supercalifragilistic"]),
              st.integers(0, 400)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(_md_line, max_size=30), bound=st.integers(40, 300), title=st.text(max_size=30))
def test_property_nothing_lost_and_within_bound(lines, bound, title):
    md = "\n".join(lines)
    chunker = Chunker(max_tokens=bound)
    chunks = chunker.chunk(md, title)
    for c in chunks:
        assert c.token_count <= bound
        assert c.token_count == chunker.count(c.embed_text)  # read off the body's tokens, but exact
        assert c.text.strip()
    assert_nothing_lost(md, chunks)


_indent = st.sampled_from(["", " ", "   ", "    ", "\t", "  \t", "   \t"])
# Lines that can open, close or interrupt a block, or look as if they might (markdown-it-py's block rules).
_structural = st.sampled_from([
    "<div>", "<div class='x'>", "</div>", "<!--", "<!-- one line -->", "-->", "<pre>", "</pre>", "<script>",
    "</script> after", "<style", "<textarea>", "<?php", "?>", "<!DOCTYPE html>", "<!X", ">", "<![CDATA[", "]]>",
    "<Tabs>", "<TabItem value=\"py\">", "</Tabs>", "<span>", "<a href='x'>", "<br/>", "<x", "<", "a -> b", "===",
    "---", "- - -", "--- x", "==", "=", "-", "   ", "", "    code", "\tcode", "#x", "#", "# ", "#######", "###### six",
    "#\ttab", "## Closed ##", "~~~", "~~~~", "```py", "````", "``` a`b", "```", "`` x", "\x00", "\x0c", "text",
])


@settings(max_examples=1500, deadline=None)
@given(lines=st.lists(st.one_of(_md_line, st.builds(lambda i, line: i + line, _indent, _md_line),
                                st.builds(lambda i, line: i + line, _indent, _structural)), max_size=40),
       newline=st.sampled_from(["\n", "\n", "\r\n", "\r"]))
def test_property_headings_by_scanning_match_the_full_parse(lines, newline):
    body = newline.join(lines)
    full = [(b.start, b.level, b.title) for b in blocks(body) if b.kind == "heading"]
    assert [(h.start, h.level, h.title) for h in headings(body)] == full
    # a heading's own lines end where the next block starts, or at the first blank line after it
    for h in headings(body):
        assert h.end == len(body) or body[h.end - 1] == "\n" or body[h.end - 1] == "\r"


def test_multiline_html_comment_does_not_hide_later_headings():
    md = "Intro.\n\n<!--\na note for editors -->\n\n## Later\n\nText under later.\n"
    chunks = chunk_markdown(md, "L")
    assert chunks[-1].heading_path == "L › Later"
    assert_nothing_lost(md, chunks)


def _fence_lines(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.lstrip(" ").startswith("```"))


def test_fence_inside_a_list_item_is_not_cut():
    code = "\n".join(f"   x{i} = f({i})" for i in range(8))
    md = ("# Setup\n\n" + "Intro text that is long enough to matter here. " * 8 + "\n\n1. Install the tools:\n\n"
          "   ```python\n" + code + "\n   ```\n\n2. Run it and then check the output.\n")
    chunks = Chunker(max_tokens=120).chunk(md, "L")
    assert len(chunks) > 1  # the section is over the bound, so it has to be packed from blocks
    assert all(_fence_lines(c.text) % 2 == 0 for c in chunks), [c.text for c in chunks]
    assert any("x0 = f(0)" in c.text and "x7 = f(7)" in c.text for c in chunks)


def test_whitespace_only_line_is_a_blank_line():
    # "Text" + a line of spaces + "---": a paragraph and a thematic break, not a setext heading "Text".
    chunks = chunk_markdown("# Title\n\nText\n   \n---\n\nMore.\n", "L")
    assert [c.heading_path for c in chunks] == ["L › Title"]
