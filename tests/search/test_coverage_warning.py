"""`bookctl search` warns when it answers from a partly embedded index."""

from __future__ import annotations


def test_search_warns_when_the_index_is_partly_embedded(embed_ws) -> None:
    assert embed_ws.run("embed").code == 0
    full = embed_ws.run("search", "robot sensors", "--json")
    assert full.code == 0 and "warning" not in full.json
    lesson = next(embed_ws.book.rglob("01-lesson-robot-sensors.md"))
    lesson.write_text(lesson.read_text() + "\n\nA new paragraph about torque sensors.\n")
    assert embed_ws.run("sync").code == 0
    partial = embed_ws.run("search", "robot sensors", "--json")
    assert partial.code == 0 and "partly embedded" in partial.json["warning"] and "1 changed" in partial.json["warning"]
    assert "partly embedded" in embed_ws.run("search", "robot sensors").stderr


def test_embed_progress_shows_lessons_chunks_and_eta(embed_ws) -> None:
    """On a terminal (a pty here), the embed progress bar counts lessons and chunks and shows an ETA."""
    import os
    import pty
    import select
    import subprocess
    import time

    from tests.conftest import bookctl_executable

    controller, terminal = pty.openpty()
    env = embed_ws.subprocess_env() | {"COLUMNS": "160", "TERM": "xterm"}
    proc = subprocess.Popen([*bookctl_executable(), "embed"], cwd=embed_ws.root, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=terminal)
    os.close(terminal)
    seen, deadline = b"", time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 1)
        if ready:
            try:
                data = os.read(controller, 65536)
            except OSError:
                break
            if not data:
                break
            seen += data
        elif proc.poll() is not None:
            break
    assert proc.wait(timeout=60) == 0
    os.close(controller)
    text = seen.decode("utf-8", "replace")
    assert "embedding" in text and "lessons" in text and "chunks" in text and "ETA" in text, text[-500:]
