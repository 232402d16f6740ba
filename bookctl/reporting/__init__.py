"""Machine- and CI-readable renderings of command results: GitHub workflow commands, JUnit XML, Markdown.

The commands stay thin: each returns its result as a dict, and `render(kind, data, fmt, context)` turns
it into text. One module per concern: `findings` (what is worth an annotation, with repository paths),
`github`, `junit`, `markdown`, and `redirects` (the old -> new URL map in three forms).
"""

from __future__ import annotations

from typing import Any

from bookctl.reporting.findings import Context, findings

FORMATS = ("text", "json", "github", "junit", "markdown")
KINDS = ("check", "sync", "embed", "status")


def render(kind: str, data: dict[str, Any], fmt: str, context: Context) -> str:
    """The whole output (ending in a newline) of `kind` in `fmt` (github, junit or markdown)."""
    if fmt == "github":
        from bookctl.reporting.github import render as github

        return github(kind, data, findings(kind, data, context))
    if fmt == "junit":
        from bookctl.reporting.junit import render as junit

        return junit(kind, data, findings(kind, data, context), context)
    if fmt == "markdown":
        from bookctl.reporting.markdown import render as markdown

        return markdown(kind, data, findings(kind, data, context))
    raise ValueError(f"not a report format: {fmt}")


__all__ = ["Context", "FORMATS", "KINDS", "findings", "render"]
