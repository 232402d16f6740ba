"""MDX syntax is not search text: ESM lines, JSX tags and admonition fences go, the prose inside stays."""

from __future__ import annotations

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
