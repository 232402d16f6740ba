"""MDX syntax is not search text: ESM lines, JSX tags and admonition fences go, the prose inside stays."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from bookctl.pipeline.chunk import chunk_markdown
from bookctl.pipeline.mdx import mdx_constructs, search_text

LESSON = """---
title: Tabs
---
import Tabs from '@theme/Tabs';
import TabItem from '@theme/TabItem';

# Nodes

:::tip[Remember this]
A <b>node</b> is one process; `<Node>` in inline code stays.
:::

<Tabs groupId="lang" values={[{label: 'Py', value: 'py'}]}>
<TabItem value="py">

Nodes talk over topics.

```python
import rclpy
<NotJSX/>
```

</TabItem>
</Tabs>

{/* editors' note */}
export const meta = {draft: false};
"""


def test_search_text_removes_mdx_and_keeps_prose_and_code() -> None:
    text = search_text(LESSON.split("---\n", 2)[2])
    for gone in ("import Tabs", "<Tabs", "</TabItem>", "<b>", ":::", "export const", "editors' note"):
        assert gone not in text, gone
    for kept in ("Remember this", "A node is one process", "`<Node>`", "Nodes talk over topics.", "import rclpy\n<NotJSX/>"):
        assert kept in text, kept
    assert text.count("\n") == LESSON.split("---\n", 2)[2].count("\n")  # lines kept: block structure unchanged


def test_chunks_of_an_mdx_lesson_hold_no_mdx_syntax() -> None:
    chunks = chunk_markdown(LESSON, "Tabs")
    joined = "\n".join(c.text for c in chunks)
    assert "import Tabs" not in joined and "<TabItem" not in joined and ":::tip" not in joined
    assert "Nodes talk over topics." in joined and "import rclpy" in joined


def test_plain_markdown_is_untouched() -> None:
    md = "# Title\n\nSome prose with a < b and c > d.\n\n```\n:::not admonition\n```\n"
    assert search_text(md) == md.replace(":::not", ":::not")  # fences are code: kept as written
    assert search_text("Plain text only.\n") == "Plain text only.\n"


def test_mdx_constructs_lists_what_a_variant_must_keep() -> None:
    found = mdx_constructs(LESSON.split("---\n", 2)[2])
    assert found[:5] == ["import Tabs from '@theme/Tabs';", "import TabItem from '@theme/TabItem';", ":::tip", "<b>", "</b>"]
    assert "<TabItem value=\"py\">" in found and "</Tabs>" in found
    assert "<NotJSX/>" not in found  # inside a code fence


def test_multi_line_jsx_with_nested_expressions_is_removed() -> None:
    body = ('Intro prose.\n\n<InstallationStep\n  stepNumber={1}\n  title="Download"\n  code={`\nrun --x > out\n`}\n'
            '  entries={[{id: "a", fix: {cmd: "ls"}}]}\n/>\n\nAfter the step, a < b and <https://ros.org> stay.\n')
    text = search_text(body)
    assert "InstallationStep" not in text and "stepNumber" not in text and "run --x" not in text
    assert "Intro prose." in text and "After the step, a < b and <https://ros.org> stay." in text
    assert text.count("\n") == body.count("\n")


def _strip_jsx_by_character(text: str) -> str:
    """The character-by-character form of mdx._strip_jsx (before it jumped between candidates): the reference."""
    from bookctl.pipeline.mdx import _tag_end

    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "`":
            run = len(text[i:]) - len(text[i:].lstrip("`"))
            close = text.find("`" * run, i + run)
            if close != -1 and "\n\n" not in text[i:close]:
                out.append(text[i:close + run])
                i = close + run
                continue
            out.append("`" * run)
            i += run
            continue
        if ch == "<" and (end := _tag_end(text, i)) != -1:
            out.append("\n" * text.count("\n", i, end))
            i = end
            continue
        if text.startswith("{/*", i) and (end := text.find("*/}", i)) != -1:
            out.append("\n" * text.count("\n", i, end))
            i = end + 3
            continue
        out.append(ch)
        i += 1
    return "".join(out)


_mdx_piece = st.sampled_from(["<b>", "</b>", "<Tabs groupId=\"x\" values={[{a: 1}]}>", "</Tabs>", "<br/>", "<>", "</>",
                              "`", "``", "`code`", "``a`b``", "{/* note */}", "{/*", "*/}", "{", "}", "<", ">", "a < b",
                              "\n", "\n\n", " ", "text", "<https://x.org>", "'", "\""])


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(_mdx_piece, st.text(max_size=5)), max_size=40))
def test_property_strip_jsx_matches_the_character_by_character_reference(pieces):
    from bookctl.pipeline.mdx import _strip_jsx

    text = "".join(pieces)
    assert _strip_jsx(text) == _strip_jsx_by_character(text)
