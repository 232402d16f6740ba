"""GitHub Actions workflow commands (`::error file=…,line=…,title=…::message`), escaped as the runner
expects: in the message `%`, CR and LF; in a property value also `:` and `,` (actions/toolkit
`command.ts`: escapeData / escapeProperty)."""

from __future__ import annotations

from typing import Any

from bookctl.reporting.findings import Finding


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: Any) -> str:
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items() if value not in (None, ""))
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def annotation(finding: Finding) -> str:
    props: dict[str, Any] = {"file": finding.path}
    if finding.path and finding.line:
        props["line"] = finding.line
    props["title"] = finding.title
    return command(finding.severity, finding.message, **props)


def render(kind: str, data: dict[str, Any], found: list[Finding]) -> str:
    lines = [annotation(f) for f in found]
    lines.append(command("notice", summary(kind, data), title=f"bookctl {kind}"))
    return "\n".join(lines) + "\n"


def summary(kind: str, data: dict[str, Any]) -> str:
    if kind == "check":
        return (f"{data['book']}: {'ok' if data['ok'] else 'failed'}; {data['lessons']} lessons "
                f"({data['written']} written, {data['planned']} planned); {data['errors']} errors, {data['warnings']} warnings")
    if kind == "sync":
        verb = "would sync" if data["dry_run"] else "synced"
        return (f"{data['book']}: {verb}: created {data['created']}, updated {data['updated']}, deleted {data['deleted']}, "
                f"uploaded {data['uploaded']}; {len(data.get('moved', []))} moved, {len(data.get('removed', []))} removed")
    if kind == "embed":
        verb = "would embed" if data["dry_run"] else "embedded"
        return (f"{data['book']}: {verb} {data['embedded']} chunks of {data['chunks']} ({data['changed']} lessons changed) "
                f"in {data['requests']} request(s) with {data['model']}")
    if kind == "status":
        stale = data["stale"]
        return (f"{data['book']}: {data['synced']} synced; stale: {stale['changed']} changed, {stale['new']} new, "
                f"{stale['removed']} removed")
    raise ValueError(kind)
