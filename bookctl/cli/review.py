"""`bookctl review`: the editors' page for personalized variants, and the same actions for scripts and CI.

    bookctl review                         serve the page on 127.0.0.1:8010 (prints a sign-in URL)
    bookctl review --list [--status S]     the variants, with ids (KEY)
    bookctl review --approve KEY
    bookctl review --reject KEY --note "…"
"""

from __future__ import annotations

import getpass
import os
from typing import Annotated, Any

import typer

from bookctl.cli.common import BookOpt, JsonOpt, console, emit, settings


def register(app: typer.Typer) -> None:
    app.command("review")(review)


def review(
    book: BookOpt = None,
    as_json: JsonOpt = False,
    host: Annotated[str, typer.Option("--host", help="Interface for the page (loopback unless editors have tokens).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port for the page.")] = 8010,
    list_: Annotated[bool, typer.Option("--list", help="List the variants (current ones; add --stale for all).")] = False,
    status: Annotated[str | None, typer.Option("--status", help="With --list: unreviewed, approved or rejected.")] = None,
    stale: Annotated[bool, typer.Option("--stale", help="With --list: include stale variants.")] = False,
    approve: Annotated[str | None, typer.Option("--approve", metavar="KEY", help="Approve this variant.")] = None,
    reject: Annotated[str | None, typer.Option("--reject", metavar="KEY", help="Reject this variant (needs --note).")] = None,
    note: Annotated[str | None, typer.Option("--note", help="Why it is rejected: the regeneration's correction.")] = None,
    reviewer: Annotated[str | None, typer.Option("--as", help="Reviewer name to record (default $BOOKCTL_REVIEWER or your login).")] = None,
) -> None:
    """Read personalized variants beside the original; approve, reject with a note, or regenerate them."""
    from bookctl.errors import UsageError

    actions = [name for name, on in (("--list", list_), ("--approve", approve), ("--reject", reject)) if on]
    if len(actions) > 1:
        raise UsageError(f"{actions[0]} cannot be combined with {actions[1]}")
    if note is not None and not reject:
        raise UsageError("--note goes with --reject")
    if reject and not (note or "").strip():
        raise UsageError("--reject needs --note: the note is the correction the regeneration follows")
    if (status or stale) and not list_:
        raise UsageError("--status and --stale go with --list")
    s = settings(book)
    if not actions:
        _serve(s, host, port, as_json)
        return
    from datetime import datetime, timezone

    from bookctl.personalization.prompts import PROMPT_VERSION
    from bookctl.review import service
    from bookctl.runtime import Runtime

    who = reviewer or os.environ.get("BOOKCTL_REVIEWER") or _login()
    runtime = Runtime.open(s)
    try:
        with runtime.session() as session:
            if list_:
                if status and status not in ("unreviewed", "approved", "rejected"):
                    raise UsageError(f"--status must be unreviewed, approved or rejected; got {status!r}")
                found = service.list_variants(session, PROMPT_VERSION, status=status, include_stale=stale)
                data: dict[str, Any] = {"variants": [v.as_dict() for v in found],
                                        "backlog": service.backlog(session, PROMPT_VERSION).as_dict()}
                emit(data, as_json, _render_list)
                return
            now = datetime.now(timezone.utc)
            if approve:
                done = service.approve(session, service.parse_variant_id(approve), who, now, PROMPT_VERSION)
            else:
                done = service.reject(session, service.parse_variant_id(reject or ""), who, note or "", now, PROMPT_VERSION)
            emit({"variant": done.as_dict()}, as_json, _render_done)
    finally:
        runtime.close()


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "editor"


def _serve(s: Any, host: str, port: int, as_json: bool) -> None:
    import logging

    import uvicorn

    from bookctl.api.app import create_app
    from bookctl.api.review import ReviewAccess
    from bookctl.runtime import Runtime

    access = ReviewAccess.from_settings(host, s)  # refuses a non-loopback bind without editor credentials
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    runtime = Runtime.open(s)
    try:
        app = create_app(runtime, review=access, learner_api=False)
        shown = f"[{host}]" if ":" in host else host
        if access.generated:
            # printed once, to the editor's own terminal: it is the credential for this run's actions
            console().print(f"review page: http://{shown}:{port}/review/login?token={access.editors[0][1]}")
        else:
            how = "your editor token" if access.editors else "an identity-provider JWT"
            if access.jwt is not None:
                how += f" (a JWT is an editor's when it carries {access.jwt.claim})"
            console().print(f"review page: http://{shown}:{port}/review/ (sign in with {how})")
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        runtime.close()


def _render_list(data: dict[str, Any]) -> None:
    out = console()
    for v in data["variants"]:
        out.print(f"{v['id']}  {v['status']:<10} {v['lesson_slug']}  [dim]{v['label']}{' (stale)' if v['stale'] else ''}[/]")
    b = data["backlog"]
    out.print(f"{len(data['variants'])} variant(s); backlog: {b['unreviewed']} unreviewed, {b['rejected']} rejected, "
              f"{b['approved']} approved, {b['stale']} stale")


def _render_done(data: dict[str, Any]) -> None:
    v = data["variant"]
    console().print(f"{v['status']} {v['id']} ({v['lesson_slug']}, {v['label']}) by {v['reviewed_by']}")
