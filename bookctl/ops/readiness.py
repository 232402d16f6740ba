"""`GET /readyz`: may this replica take traffic? Each part is checked and named; any failure means 503.

- database: reachable (SELECT 1);
- migrations: the database's alembic revision is the head this code ships (a replica of a new release
  waits for `bookctl db upgrade`; see docs/deployment.md);
- store: the object store answers its cheap `ping`;
- llm: personalization has an LLM configured (OPENAI_API_KEY or OPENAI_BASE_URL, or an injected
  generator), unless BOOKCTL_PERSONALIZATION=off;
- draining: the process is not shutting down.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

if TYPE_CHECKING:
    from bookctl.runtime import Runtime


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    message: str


def check_database(runtime: "Runtime") -> list[Check]:
    """database + migrations (the second needs the first)."""
    from bookctl.db.revisions import quick_head

    for attempt in (1, 2):  # a pooled connection may have died with a database restart: one fresh retry
        try:
            with runtime.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                versions = _versions(conn)
            break
        except DBAPIError as exc:
            if attempt == 1 and exc.connection_invalidated:
                continue
            return [Check("database", False, _first_line(exc)), Check("migrations", False, "database unreachable")]
        except SQLAlchemyError as exc:
            return [Check("database", False, _first_line(exc)), Check("migrations", False, "database unreachable")]
    head = quick_head()
    at_head = versions == [head] and head is not None
    return [Check("database", True, "reachable"),
            Check("migrations", at_head, f"at {head}" if at_head else
                  f"database at {', '.join(versions) or 'no revision'}, this release needs {head}: run `bookctl db upgrade`")]


def _versions(conn) -> list[str]:
    """The alembic_version rows; none when the database was never migrated (not an unreachable database)."""
    from sqlalchemy import inspect

    if not inspect(conn).has_table("alembic_version"):
        return []
    return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def check_store(store: Any) -> Check:
    try:
        ping = getattr(store, "ping", None)
        if ping is not None:
            ping()
        else:  # a backend without ping: the smallest listing it can do
            next(iter(store.list("__readyz__/")), None)
        return Check("store", True, "reachable")
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; named, never raised
        return Check("store", False, _first_line(exc))


def check_llm(required: bool, configured: bool) -> Check:
    if not required:
        return Check("llm", True, "personalization off")
    if configured:
        return Check("llm", True, "configured")
    return Check("llm", False, "personalization is on but neither OPENAI_API_KEY nor OPENAI_BASE_URL is set "
                               "(or set BOOKCTL_PERSONALIZATION=off)")


def readiness(runtime: "Runtime", *, llm_configured: bool, is_draining: Callable[[], bool]) -> list[Check]:
    checks = [Check("draining", not is_draining(), "shutting down" if is_draining() else "serving")]
    checks += check_database(runtime)
    checks.append(check_store(runtime.store))
    checks.append(check_llm(runtime.settings.personalization, llm_configured))
    return checks


def _first_line(exc: BaseException) -> str:
    from bookctl.config import redact_url

    orig = getattr(exc, "orig", None)
    message = str(orig if orig is not None else getattr(exc, "message", exc)).strip().splitlines()
    return redact_url(message[0]) if message else type(exc).__name__
