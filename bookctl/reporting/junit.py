"""JUnit XML, the test report format GitLab, Jenkins, Azure Pipelines and CircleCI all read.

One test suite per command, one test case per file of the book (a case fails with one <failure> per error
at file:line); warnings go to the case's <system-out>. Findings without a file (a removed lesson, the
summary) form a case of their own. The shape follows the widely used Jenkins/Ant schema
(tests/data/junit.xsd, checked in the tests).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from bookctl.reporting.findings import Context, Finding
from bookctl.reporting.github import summary


def render(kind: str, data: dict[str, Any], found: list[Finding], context: Context) -> str:
    files = [context.repo_path(p) for p in context.book_files()] if kind in ("check", "sync") else []
    cases: dict[str, list[Finding]] = {path: [] for path in files}
    for finding in found:
        cases.setdefault(finding.path or f"bookctl {kind}", []).append(finding)
    if kind in ("embed", "status") or not cases:
        cases.setdefault(f"bookctl {kind}", [])
    failures = sum(1 for f in found if f.severity == "error")
    suites = ET.Element("testsuites", name="bookctl", tests=str(len(cases)), failures=str(failures), errors="0")
    suite = ET.SubElement(suites, "testsuite", name=f"bookctl {kind}", tests=str(len(cases)),
                          failures=str(sum(1 for items in cases.values() if any(f.severity == "error" for f in items))),
                          errors="0", skipped="0")
    for name, items in cases.items():
        case = ET.SubElement(suite, "testcase", name=name, classname=f"bookctl.{kind}")
        for f in items:
            if f.severity == "error":
                where = f"{f.path}:{f.line}" if f.path and f.line else (f.path or "")
                failure = ET.SubElement(case, "failure", message=_clean(f.message), type=f.title)
                failure.text = _clean(f"{where}: {f.message}" if where else f.message)
        notes = [f for f in items if f.severity != "error"]
        if notes:
            out = ET.SubElement(case, "system-out")
            out.text = _clean("\n".join(f"{f.path}:{f.line}: {f.severity}: {f.message}" if f.path else
                                        f"{f.severity}: {f.message}" for f in notes))
    out = ET.SubElement(suite, "system-out")
    out.text = _clean(summary(kind, data))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _clean(text: str) -> str:
    """XML 1.0 cannot carry most control characters (a NUL in a title, say): drop them."""
    return "".join(ch for ch in text if ch in "\t\n\r" or ord(ch) >= 0x20)
