"""A Markdown summary for `$GITHUB_STEP_SUMMARY` or a merge-request comment."""

from __future__ import annotations

from typing import Any

from bookctl.reporting.findings import Finding

MAX_ROWS = 200  # a job summary is capped at 1 MiB; a huge plan lists its first rows and counts the rest


def cell(value: Any) -> str:
    text = "" if value is None else " ".join(str(value).split())
    return text.replace("\\", "\\\\").replace("|", "\\|") or " "


def code(value: Any) -> str:
    return f"`{cell(value)}`" if value else "—"


def table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows[:MAX_ROWS]]
    if len(rows) > MAX_ROWS:
        lines.append(f"\n…and {len(rows) - MAX_ROWS} more")
    return lines + [""]


def render(kind: str, data: dict[str, Any], found: list[Finding]) -> str:
    lines = {"check": _check, "sync": _sync, "embed": _embed, "status": _status}[kind](data, found)
    return "\n".join(lines).rstrip("\n") + "\n"


def _findings(found: list[Finding]) -> list[str]:
    if not found:
        return []
    rows = [[cell(f.severity), code(f"{f.path}:{f.line}" if f.path and f.line else f.path), cell(f.message)] for f in found]
    return table(["", "where", "message"], rows)


def _check(data: dict[str, Any], found: list[Finding]) -> list[str]:
    verdict = "✅ ok" if data["ok"] else "❌ failed"
    lines = [f"### bookctl check: {cell(data['book'])} — {verdict}", "",
             f"{data['parts']} parts, {data['chapters']} chapters, {data['lessons']} lessons "
             f"({data['written']} written, {data['planned']} planned); **{data['errors']} errors**, {data['warnings']} warnings", ""]
    return lines + _findings(found)


def _sync(data: dict[str, Any], found: list[Finding]) -> list[str]:
    title = "plan" if data["dry_run"] else "result"
    lines = [f"### bookctl sync {title}: {cell(data['book'])}", ""]
    if data.get("failed_on"):
        lines += [f"❌ refused by `--fail-on {','.join(data['failed_on'])}`: nothing was written", ""]
    lines += table(["create", "update", "delete", "unchanged", "uploads", "moved URLs", "removed URLs"], [[
        str(data["created"]), str(data["updated"]), str(data["deleted"]), str(data["unchanged"]), str(data["uploaded"]),
        str(len(data.get("moved", []))), str(len(data.get("removed", [])))]])
    changes = data.get("changes", [])
    for action in ("create", "update", "delete"):
        rows = [[cell(c["title"]), code(c["route"]), code(c["slug"])] for c in changes if c["action"] == action]
        if rows:
            lines += [f"**{action.capitalize()}** ({len(rows)})", ""] + table(["lesson", "route", "slug"], rows)
    if data.get("moved"):
        rows = [[cell(x["title"]), code(x["old_route"]), code(x["new_route"])] for x in data["moved"]]
        lines += ["**Moved URLs** (publish `bookctl redirects` so old links keep working)", ""] + \
            table(["lesson", "old URL", "new URL"], rows)
    if data.get("removed"):
        rows = [[cell(x["title"]), code(x["old_route"])] for x in data["removed"]]
        lines += ["**Removed URLs** (links to them will break)", ""] + table(["lesson", "old URL"], rows)
    uploads = [p for p in data.get("plan", []) if p["action"] == "upload"]
    if uploads:
        lines += [f"**Uploads** ({len(uploads)})", ""] + table(["slug", "object"], [[code(p["slug"]), code(p["key"])] for p in uploads])
    embedding = data.get("embedding")
    if embedding:
        lines += ["**Embedding**", ""] + table(["model", "lessons", "chunks", "to embed", "requests"], [[
            code(embedding["model"]), str(embedding["lessons"]), str(embedding["chunks"]), str(embedding["embed"]),
            str(embedding["requests"])]])
    stale = data.get("personalization")
    if stale:
        usd = "unknown (model not in the price table)" if stale["cost_usd"] is None else f"${stale['cost_usd']:.4f}"
        lines += ["**Personalization**", "",
                  f"{stale['variants']} variant(s) of {stale['lessons']} lesson(s) would go stale; regenerating them: "
                  f"{stale['llm_calls']} LLM call(s), ~{stale['tokens_in']} tokens in / ~{stale['tokens_out']} out, "
                  f"estimated {usd}{' at batch price' if stale['batch'] else ''} ({code(stale['model'])}).", ""]
    notes = [f for f in found if f.title not in ("lesson URL moved", "lesson URL removed")]
    return lines + _findings(notes)


def _embed(data: dict[str, Any], found: list[Finding]) -> list[str]:
    title = "plan" if data["dry_run"] else "result"
    lines = [f"### bookctl embed {title}: {cell(data['book'])}", ""]
    lines += table(["model", "lessons", "changed", "chunks", "to embed", "cached", "deleted", "requests"], [[
        code(data["model"]), str(data["lessons"]), str(data["changed"]), str(data["chunks"]), str(data["embedded"]),
        str(data["skipped"]), str(data["deleted"]), str(data["requests"])]])
    rows = [[code(p["slug"]), str(p["chunks"]), str(p["embed"])] for p in data.get("plan", [])]
    if rows:
        lines += ["**Lessons to re-chunk**", ""] + table(["lesson", "chunks", "to embed"], rows)
    return lines


def _status(data: dict[str, Any], found: list[Finding]) -> list[str]:
    db, stale = data["database"], data["stale"]
    lines = [f"### bookctl status: {cell(data['book'])}", ""]
    if not data["synced_book"]:
        lines += ["never synced: run `bookctl sync`", ""]
    lines += table(["parts", "chapters", "lessons", "written", "planned", "synced", "changed", "new", "removed"], [[
        str(db["parts"]), str(db["chapters"]), str(db["lessons"]), str(db["written"]), str(db["planned"]),
        str(data["synced"]), str(stale["changed"]), str(stale["new"]), str(stale["removed"])]])
    for section, values in data.get("stages", {}).items():
        lines += [f"**{cell(section)}**: " + ", ".join(f"{cell(k)} {cell(v)}" for k, v in values.items()), ""]
    if stale["slugs"]:
        lines += ["**Stale**: " + ", ".join(code(s) for s in stale["slugs"][:MAX_ROWS]), ""]
    return lines
