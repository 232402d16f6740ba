"""Guards on what the loader reads: symlinks that leave the book, oversized or non-regular files, NUL bytes.

Kept apart from the parsing so the rules stay in one place, whatever shape the loader takes. Every
refusal is a Problem with file:line; nothing here raises for bad content.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from bookctl.errors import Problem

# A lesson is prose: the largest real one is well under 200 KiB. Far above that is a mistake (a log, a
# dataset, a binary saved as .md), and reading it whole would cost every later stage too.
MAX_LESSON_BYTES = 2 * 1024 * 1024


def resolve_inside(root: Path, path: Path) -> tuple[Path | None, str | None]:
    """(the real path, None) when `path` resolves to something inside `root`; else (None, why not)."""
    try:
        real = Path(os.path.realpath(path, strict=True))
    except FileNotFoundError:
        return None, f"a symlink to {os.readlink(path) if path.is_symlink() else path}, which does not exist"
    except (OSError, RuntimeError):  # ELOOP: a -> b -> a
        return None, "a symlink loop (the link points, through other links, back at itself)"
    root_real = Path(os.path.realpath(root))
    if real != root_real and root_real not in real.parents:
        return None, "a symlink that leaves the book's folder: copy the file into the book instead"
    return real, None


def symlink_problems(root: Path, top: Path) -> list[Problem]:
    """Every symlink under `top` (and `top` itself) that dangles, loops, or points outside `root`."""
    problems: list[Problem] = []
    candidates = [top] if top.is_symlink() else []
    if top.is_dir():
        for folder, dirs, files in os.walk(top, followlinks=False):
            for name in [*dirs, *files]:
                path = Path(folder) / name
                if path.is_symlink():
                    candidates.append(path)
    for path in candidates:
        real, why = resolve_inside(root, path)
        if real is not None and real.is_dir():
            here = Path(os.path.realpath(path.parent))
            if here == real or real in here.parents:
                why = "a symlink loop (the folder links to itself or to a folder that contains it)"
        if why is not None:
            problems.append(Problem(_rel(root, path), 1, f"refused: {why}"))
    return problems


def read_source(root: Path, file: Path, path: str, problems: list[Problem]) -> bytes:
    """The bytes of a book file, or b'' (with a problem appended) when it must not be read."""
    real, why = resolve_inside(root, file)
    if real is None:
        problems.append(Problem(path, 1, f"refused: {why}"))
        return b""
    try:
        info = real.stat()  # one stat for both questions
    except OSError:
        info = None
    if info is None or not stat.S_ISREG(info.st_mode):
        problems.append(Problem(path, 1, "refused: not a regular file"))
        return b""
    size = info.st_size
    if size > MAX_LESSON_BYTES:
        problems.append(Problem(path, 1, f"the file is {size / 2**20:.1f} MiB; a lesson may be at most "
                                         f"{MAX_LESSON_BYTES // 2**20} MiB: split it into several lessons"))
        return b""
    with open(real, "rb") as fh:  # read at most the limit: the file may grow while we read it
        return fh.read(MAX_LESSON_BYTES + 1)[:MAX_LESSON_BYTES]


def nul_problem(text: str, path: str) -> Problem | None:
    """A NUL character is never text: databases refuse it (PostgreSQL) and editors hide it."""
    index = text.find("\x00")
    if index < 0:
        return None
    line = text.count("\n", 0, index) + 1
    return Problem(path, line, "contains a NUL character (\\0): the file is binary or corrupted; remove it")


def _rel(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
