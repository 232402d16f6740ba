"""docs/mcp.md's tool table is what the server lists (so it cannot drift), and `bookctl mcp tools` prints it."""

from __future__ import annotations

import json
from pathlib import Path

from bookctl.mcp.docs import list_tools, tools_markdown, with_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "mcp.md"
REGENERATE = ("python -c \"from pathlib import Path; from bookctl.mcp.docs import *; p = Path('docs/mcp.md'); "
              "p.write_text(with_table(p.read_text(), tools_markdown(list_tools())))\"")


def test_the_doc_lists_exactly_the_servers_tools():
    doc = DOC.read_text(encoding="utf-8")
    assert with_table(doc, tools_markdown(list_tools())) == doc, f"docs/mcp.md is stale; regenerate: {REGENERATE}"


def test_the_table_follows_the_server():
    tools = list_tools()
    table = tools_markdown(tools)
    assert [t["name"] for t in tools] == ["search_book", "get_outline", "get_lesson", "my_progress",
                                          "recommend_next", "mark_lesson", "personalized_lesson"]
    for tool in tools:
        assert f"| `{tool['name']}` | {'yes' if tool['learner'] else 'no'} |" in table
    search = next(t for t in tools if t["name"] == "search_book")
    assert search["arguments"][:2] == ["query: string", "limit: integer = 5"]
    # a changed signature changes the table (what the doc test would then catch)
    edited = [dict(t, arguments=t["arguments"][:1]) if t["name"] == "search_book" else t for t in tools]
    assert tools_markdown(edited) != table


def test_cli_lists_the_tools(workspace):
    as_json = workspace.run("mcp", "tools", "--json")
    assert as_json.code == 0, as_json.stderr
    assert [t["name"] for t in json.loads(as_json.stdout)["tools"]] == [t["name"] for t in list_tools()]
    markdown = workspace.run("mcp", "tools", "--markdown")
    assert markdown.code == 0 and markdown.stdout == tools_markdown(list_tools())
    plain = workspace.run("mcp", "tools")
    assert plain.code == 0 and "personalized_lesson" in plain.stdout and "learner" in plain.stdout
