"""What deserves an annotation in a command's result, located by a path relative to the repository root."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Context:
    """Where the book is, and the root that annotation paths are relative to (GitHub wants repo-relative)."""

    book_dir: Path
    root: Path

    @classmethod
    def from_env(cls, book_dir: Path) -> "Context":
        # Actions runs steps in $GITHUB_WORKSPACE (the checkout); GitLab in $CI_PROJECT_DIR; else the cwd.
        root = os.environ.get("GITHUB_WORKSPACE") or os.environ.get("CI_PROJECT_DIR") or os.getcwd()
        return cls(Path(book_dir), Path(root))

    def repo_path(self, book_path: str) -> str:
        """`docs/a.md` (relative to the book) -> `curriculum/docs/a.md` (relative to the repository root)."""
        full = Path(os.path.abspath(self.book_dir / book_path))
        try:
            return full.relative_to(os.path.abspath(self.root)).as_posix()
        except ValueError:
            return full.as_posix()

    def book_files(self) -> list[str]:
        """Every file the book is made of (book-relative): the outline and the docs tree's markdown."""
        files = ["curriculum.md"] if (self.book_dir / "curriculum.md").is_file() else []
        docs = self.book_dir / "docs"
        if docs.is_dir():
            files += sorted(p.relative_to(self.book_dir).as_posix() for p in docs.rglob("*")
                            if p.suffix in (".md", ".mdx") and p.is_file())
        return files


@dataclass(frozen=True)
class Finding:
    severity: str  # error | warning | notice
    path: str | None  # repository-relative
    line: int
    title: str
    message: str


def findings(kind: str, data: dict[str, Any], context: Context) -> list[Finding]:
    if kind == "check":
        return [_problem(p, context, "bookctl check") for p in data.get("problems", []) if p["severity"] != "info"]
    if kind == "sync":
        return sync_findings(data, context)
    return []


def _problem(p: dict[str, Any], context: Context, title: str) -> Finding:
    severity = "error" if p["severity"] == "error" else "warning"
    return Finding(severity, context.repo_path(p["path"]), p["line"] or 0, title, p["message"])


def sync_findings(data: dict[str, Any], context: Context) -> list[Finding]:
    out = [_problem(p, context, "bookctl sync") for p in data.get("warnings", []) if p["severity"] != "info"]
    failed = set(data.get("failed_on", []))
    for move in data.get("moved", []):
        severity = "error" if "moved" in failed else "warning"
        out.append(Finding(severity, context.repo_path(move["source"]) if move.get("source") else None, 1,
                           "lesson URL moved",
                           f"moved: {move['old_route']} -> {move['new_route']} (old links keep working once "
                           f"`bookctl redirects` is published)"))
    for gone in data.get("removed", []):
        severity = "error" if "removed" in failed else "warning"
        out.append(Finding(severity, context.repo_path(gone["source"]) if gone.get("source") else None, 0,
                           "lesson URL removed", f"removed: {gone['old_route']} has no successor; its links will break"))
    return out
