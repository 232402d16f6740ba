"""Parse `curriculum.md`, the book's outline, into parts and chapters.

The outline is line-oriented (`## Part N — …`, `**Key:** value`, bullets), so it is read line by line
rather than through a markdown AST: every value needs its own line number for `file:line` messages,
and everything that is not outline syntax is prose to be ignored, never an error.
"""

from __future__ import annotations

import re

from bookctl.curriculum.model import Chapter, Part
from bookctl.errors import Problem

OUTLINE_NAME = "curriculum.md"

BOOK_FIELDS = {"title": "title", "theme": "description", "description": "description", "version": "version", "slug": "slug"}

PART_RE = re.compile(
    r"^##\s+Part\s+(?P<num>\d+)\s*(?:[—–:-]+\s*)?(?P<title>.*?)\s*"
    r"(?:\((?:Weeks?)\s+(?P<w1>\d+)(?:\s*[-–—]\s*(?P<w2>\d+))?\))?\s*$",
    re.IGNORECASE,
)
CHAPTER_RE = re.compile(r"^###\s+Chapter\s+(?P<num>\d+)\s*[:.—–-]?\s*(?P<title>.*?)\s*$", re.IGNORECASE)
FIELD_RE = re.compile(r"^\*\*(?P<key>[^*:]+):\*\*\s*(?P<value>.*?)\s*$")
BOLD_LINE_RE = re.compile(r"^\*\*(?P<text>[^*]+?)\*\*\s*$")
BULLET_RE = re.compile(r"^\s*[-*+]\s+(?P<text>.+?)\s*$")
H1_RE = re.compile(r"^#\s+(?P<title>.+?)\s*$")
LAYER_RE = re.compile(r"^L[1-9](?:\s*[-–]\s*L[1-9])?$")
TIER_RE = re.compile(r"^(?P<code>[A-C][12])\b\s*(?:\((?P<label>[^)]*)\))?")
CHAPTER_REF_RE = re.compile(r"^(?:chapter|ch\.?)?\s*(?P<num>\d+)$", re.IGNORECASE)


def _unquote_folder(value: str) -> str:
    return value.strip().strip("`").strip().strip("/")


def _split_label(value: str) -> tuple[str, str | None]:
    """`L2-L3 (Simulation + Control)` -> ("L2-L3", "Simulation + Control")."""
    match = re.match(r"^(?P<code>[^()]+?)\s*(?:\((?P<label>.*)\))?\s*$", value)
    if not match:
        return value.strip(), None
    return match["code"].strip(), match["label"]


def parse_outline(text: str, path: str) -> tuple[dict[str, str], list[Part], list[Problem]]:
    """Return the book's fields (title, description, version), its parts and the problems found."""
    problems: list[Problem] = []
    title = ""
    book: dict[str, str] = {}
    parts: list[Part] = []
    part: Part | None = None
    chapter: Chapter | None = None
    in_lessons_list = False
    in_fence = False
    chapter_count_in_part = 0

    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        stripped = line.strip()
        if stripped.startswith("```") or stripped.startswith("~~~"):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        if not title and (m := H1_RE.match(line)):
            title = m["title"]
            continue
        if line.startswith("## "):
            chapter, in_lessons_list = None, False
            m = PART_RE.match(line)
            if m and m["title"] is not None:
                part_title = m["title"].strip()
                if not part_title:
                    problems.append(Problem(path, lineno, f"Part {m['num']} has no title: write '## Part {m['num']} — Title'"))
                part = Part(number=int(m["num"]), title=part_title, folder="", line=lineno)
                if m["w1"]:
                    part.week_start = int(m["w1"])
                    part.week_end = int(m["w2"] or m["w1"])
                parts.append(part)
                chapter_count_in_part = 0
            else:
                part = None  # a prose section such as "## Hardware Requirements"
            continue
        if line.startswith("### "):
            in_lessons_list = False
            m = CHAPTER_RE.match(line)
            if m:
                if part is None:
                    problems.append(Problem(path, lineno, f"Chapter {m['num']} is not inside a '## Part N — Title' section"))
                    chapter = None
                    continue
                if not m["title"]:
                    problems.append(Problem(path, lineno, f"Chapter {m['num']} has no title: write '### Chapter {m['num']}: Title'"))
                chapter_count_in_part += 1
                chapter = Chapter(
                    number=int(m["num"]), local_number=chapter_count_in_part, title=m["title"], folder="",
                    line=lineno, outline_path=path,
                )
                part.chapters.append(chapter)
            else:
                chapter = None
            continue
        if part is None:
            # Book-level fields may stand in any prose section (**Title:**, **Theme:**, **Version:**).
            if (m := FIELD_RE.match(stripped)) and m["key"].strip().lower() in BOOK_FIELDS:
                book.setdefault(BOOK_FIELDS[m["key"].strip().lower()], m["value"])
            continue
        if m := FIELD_RE.match(stripped):
            key, value = m["key"].strip().lower(), m["value"]
            in_lessons_list = False
            target = chapter if chapter is not None else part
            if key == "folder":
                folder = _unquote_folder(value)
                if not folder:
                    problems.append(Problem(path, lineno, "empty **Folder:** value: name the folder under docs/"))
                target.folder, target.folder_line = folder, lineno
            elif key == "lessons":
                in_lessons_list = chapter is not None
                if value and chapter is not None:  # inline list: **Lessons:** A; B
                    for item in re.split(r"[;,]\s*", value):
                        if item.strip():
                            chapter.topics.append((item.strip(), lineno))
            elif key == "transition check":
                target.transition_check = value
            elif key == "prerequisites" and chapter is not None:
                for ref in filter(None, (r.strip() for r in value.split(","))):
                    rm = CHAPTER_REF_RE.match(ref)
                    if rm:
                        chapter.prerequisite_refs.append((int(rm["num"]), lineno))
                    else:
                        problems.append(Problem(path, lineno, f"prerequisite {ref!r} is not a chapter reference: write 'Chapter N'"))
            elif chapter is None and key == "tier":
                tm = TIER_RE.match(value)
                if tm:
                    part.tier, part.tier_label = tm["code"], tm["label"]
                else:
                    problems.append(Problem(path, lineno, f"tier {value!r} is not one of A1-C2 (e.g. 'A2 (Beginner)')"))
            elif chapter is None and key == "layer":
                code, label = _split_label(value)
                code = re.sub(r"\s*[-–]\s*", "-", code)
                if not LAYER_RE.match(code):
                    problems.append(Problem(path, lineno, f"layer {value!r} is not L1..L9 or a range like 'L2-L3'"))
                part.layer, part.layer_label = code, label
            elif chapter is None and key == "focus":
                part.focus = value
            continue
        if chapter is None:
            continue
        if m := BULLET_RE.match(line):
            # Bullets directly under a chapter are its lessons, with or without a **Lessons:** label.
            if in_lessons_list or not line.startswith((" ", "\t")):
                chapter.topics.append((m["text"], lineno))
            continue
        if (m := BOLD_LINE_RE.match(stripped)) and not chapter.topics:
            # A chapter outlined by one bold heading (the capstone) has that as its one topic.
            chapter.topics.append((m["text"].rstrip(":"), lineno))
            continue
        if stripped:
            in_lessons_list = in_lessons_list and stripped.startswith(("-", "*", "+"))

    if not title:
        problems.append(Problem(path, 1, "no book title: the outline should start with '# Title'"))
    if not parts:
        problems.append(Problem(path, 1, "no parts found: add sections like '## Part 1 — Title (Weeks 1-2)'"))
    _number_per_part(parts, path, problems)
    _check_structure(parts, path, problems)
    book.setdefault("title", title)
    return book, parts, problems


def folder_problem(folder: str) -> str | None:
    """Why an outline **Folder:** value cannot be used (it must name a folder inside docs/), or None."""
    segments = folder.replace("\\", "/").split("/")
    if folder in ("", ".") or any(s in ("", ".", "..") for s in segments) or ":" in segments[0]:
        return f"**Folder:** {folder!r} must name a folder inside docs/ (no '.', '..' or absolute paths)"
    return None


def _number_per_part(parts: list[Part], path: str, problems: list[Problem]) -> None:
    """Accept chapters numbered within each part (Part 2 starts again at Chapter 1).

    A chapter's identity is then (part, chapter): `local_number` keeps the number as written, `number`
    becomes its position through the book (unique, as the database and the API need), and
    `**Prerequisites:** Chapter N` names chapter N of the same part.
    """
    numbers = [c.number for p in parts for c in p.chapters]
    if len(numbers) == len(set(numbers)):
        return  # numbered through the book: nothing changes
    for part in parts:
        seen: dict[int, Chapter] = {}
        for chapter in part.chapters:
            if chapter.number in seen:
                problems.append(Problem(path, chapter.line, f"Part {part.number}, Chapter {chapter.number} is declared twice "
                                                            f"(first at line {seen[chapter.number].line})"))
            seen.setdefault(chapter.number, chapter)
    position = 0
    for part in parts:
        written = {c.number: c for c in reversed(part.chapters)}
        for chapter in part.chapters:
            position += 1
            chapter.local_number = chapter.number
            chapter.number = position
        missing = 10**9  # a number no chapter has: reported as "does not exist" by _check_structure
        for chapter in part.chapters:
            chapter.prerequisite_refs = [((written[n].number if n in written else missing + n), line)
                                         for n, line in chapter.prerequisite_refs]
    problems.append(Problem(path, parts[0].line if parts else 1,
                            "chapters are numbered within each part: a chapter is Part P, Chapter N, and "
                            "'Chapter N' in **Prerequisites:** means chapter N of the same part", "info"))


def _check_structure(parts: list[Part], path: str, problems: list[Problem]) -> None:
    seen_parts: dict[int, Part] = {}
    seen_chapters: dict[int, Chapter] = {}
    seen_folders: dict[str, int] = {}
    part_folders: dict[str, int] = {}  # part folder -> its **Folder:** line
    for part in parts:
        if part.number in seen_parts:
            problems.append(Problem(path, part.line, f"Part {part.number} is declared twice (first at line {seen_parts[part.number].line})"))
        seen_parts.setdefault(part.number, part)
        if not part.folder:
            problems.append(Problem(path, part.line, f"Part {part.number} has no **Folder:** line: name its folder under docs/"))
        elif reason := folder_problem(part.folder):
            problems.append(Problem(path, part.folder_line or part.line, f"Part {part.number}: {reason}"))
        elif overlap := next((f for f in part_folders if f.startswith(part.folder + "/") or part.folder.startswith(f + "/")), None):
            problems.append(Problem(path, part.folder_line or part.line, f"Part {part.number}: folder {part.folder!r} overlaps "
                                                                         f"another part's folder {overlap!r} (line {part_folders[overlap]}): parts need separate folders"))
        elif part.folder in seen_folders:
            problems.append(Problem(path, part.line, f"folder {part.folder!r} is used twice (also at line {seen_folders[part.folder]})"))
        else:
            seen_folders[part.folder] = part.line
            part_folders[part.folder] = part.folder_line or part.line
        # No **Layer:** is fine: the part has no layer and recommendations skip the layer rule for it.
        if not part.chapters:
            problems.append(Problem(path, part.line, f"Part {part.number} has no chapters", "warning"))
        if part.week_start and part.week_end and part.week_end < part.week_start:
            problems.append(Problem(path, part.line, f"Part {part.number}: weeks {part.week_start}-{part.week_end} run backwards"))
        for chapter in part.chapters:
            if chapter.number in seen_chapters:
                problems.append(Problem(path, chapter.line, f"Chapter {chapter.number} is declared twice (first at line {seen_chapters[chapter.number].line})"))
            seen_chapters.setdefault(chapter.number, chapter)
            if not chapter.folder:
                problems.append(Problem(path, chapter.line, f"Chapter {chapter.number} has no **Folder:** line: name its folder under the part's folder"))
            elif chapter.folder != "." and (reason := folder_problem(chapter.folder)):  # '.': the part's own files
                problems.append(Problem(path, chapter.folder_line or chapter.line, f"Chapter {chapter.number}: {reason} (under the part's folder)"))
            else:
                key = f"{part.folder}/{chapter.folder}"
                if key in seen_folders:
                    problems.append(Problem(path, chapter.line, f"folder {chapter.folder!r} is used twice (also at line {seen_folders[key]})"))
                seen_folders[key] = chapter.line
    for chapter in seen_chapters.values():
        resolved = []
        for number, lineno in chapter.prerequisite_refs:
            if number not in seen_chapters:
                problems.append(Problem(path, lineno, f"Chapter {chapter.number}: prerequisite Chapter {number} does not exist"))
            elif number == chapter.number:
                problems.append(Problem(path, lineno, f"Chapter {chapter.number} lists itself as a prerequisite"))
            else:
                resolved.append(number)
        chapter.prerequisites = resolved
    cycle = find_cycle({c.number: c.prerequisites for c in seen_chapters.values()})
    if cycle:
        first = seen_chapters[cycle[0]]
        chain = " -> ".join(f"Chapter {n}" for n in cycle)
        problems.append(Problem(path, first.prerequisite_refs[0][1] if first.prerequisite_refs else first.line,
                                f"chapter prerequisites form a cycle: {chain}"))


def find_cycle(graph: dict) -> list | None:
    """Return one cycle (first node repeated at the end) in a dependency graph, or None.

    Iterative depth-first search: a long prerequisite chain in an arbitrary (or generated) book must
    not hit Python's recursion limit.
    """
    state: dict = {}  # node -> 1 on the current path, 2 finished
    for root in sorted(graph, key=str):
        if state.get(root) is not None:
            continue
        path: list = [root]
        iterators = [iter(graph.get(root, ()))]
        state[root] = 1
        while iterators:
            for dep in iterators[-1]:
                if state.get(dep) == 1:
                    return path[path.index(dep):] + [dep]
                if dep in graph and state.get(dep) is None:
                    state[dep] = 1
                    path.append(dep)
                    iterators.append(iter(graph.get(dep, ())))
                    break
            else:
                state[path.pop()] = 2
                iterators.pop()
    return None


def book_slug(root: "Path | str", slug: str | None = None) -> str:
    """The slug `load_book` gives this book, from the outline alone (embed, search and status need no more)."""
    from pathlib import Path

    from bookctl.curriculum.routes import slugify

    root = Path(root)
    if slug:
        return slug
    try:
        fields, _parts, _problems = parse_outline((root / OUTLINE_NAME).read_text(encoding="utf-8").removeprefix("\ufeff"),
                                                  OUTLINE_NAME)
    except (OSError, UnicodeDecodeError):
        fields = {}
    return slugify(fields.get("slug") or fields.get("title") or root.resolve().name)
