"""`bookctl redirects`: every old lesson URL and the page it lives at today, from the route history.

The history keeps one row per old route pointing at its lesson, so the target is always the lesson's
current route (a URL that moved twice lands on today's page). Routes a live lesson holds again, and
lessons that left the book, give no redirect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bookctl.db import models as m

if TYPE_CHECKING:
    from bookctl.runtime import Runtime


def redirect_map(session: Session, book_id: Any) -> list[dict[str, str]]:
    """[{from, to, slug}] sorted by old route; `to` is the lesson's current route."""
    live = set(session.scalars(select(m.Lesson.route).where(
        m.Lesson.book_id == book_id, m.Lesson.removed_at.is_(None), m.Lesson.route.is_not(None))))
    query = (select(m.RouteHistory.route, m.Lesson.route, m.Lesson.slug)
             .join(m.Lesson, m.Lesson.id == m.RouteHistory.lesson_id)
             .where(m.RouteHistory.book_id == book_id, m.Lesson.removed_at.is_(None), m.Lesson.route.is_not(None))
             .order_by(m.RouteHistory.route))
    return [{"from": old, "to": new, "slug": slug} for old, new, slug in session.execute(query)
            if old not in live and old != new]


def redirects(runtime: "Runtime", book_slug: str) -> dict[str, Any]:
    with runtime.session() as session:
        book = session.scalar(select(m.Book).where(m.Book.slug == book_slug))
        items = [] if book is None else redirect_map(session, book.id)
    return {"book": book_slug, "synced_book": book is not None, "redirects": items}
