"""The old -> new URL map in the forms sites use: Docusaurus' client-redirects plugin, JSON, nginx."""

from __future__ import annotations

import json
from typing import Any

REDIRECT_FORMATS = ("docusaurus", "json", "nginx")


def render(data: dict[str, Any], fmt: str) -> str:
    items = data["redirects"]
    if fmt == "json":
        return json.dumps(data, sort_keys=True) + "\n"
    if fmt == "docusaurus":
        # @docusaurus/plugin-client-redirects: redirects: [{to: '/new', from: ['/old', ...]}]
        grouped: dict[str, list[str]] = {}
        for item in items:
            grouped.setdefault(item["to"], []).append(item["from"])
        entries = [{"from": sorted(olds), "to": to} for to, olds in sorted(grouped.items())]
        return json.dumps({"redirects": entries}, indent=2) + "\n"
    if fmt == "nginx":
        lines = [f"# bookctl redirects for {data['book']}: include inside the site's server {{ }} block"]
        lines += [f"location = {_nginx(item['from'])} {{ return 301 {_nginx(item['to'])}; }}" for item in items]
        return "\n".join(lines) + "\n"
    raise ValueError(fmt)


def _nginx(route: str) -> str:
    """Routes are URL paths; quote anything nginx would read as syntax."""
    if any(ch in route for ch in " ;{}\"'\\#$"):
        return '"' + route.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'
    return route
