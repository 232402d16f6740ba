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
