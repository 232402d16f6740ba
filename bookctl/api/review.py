"""The editors' review page (`bookctl review`): server-rendered HTML over `bookctl.review.service`.

Access (see `ReviewAccess`): pages are readable without signing in only when the server is bound to loopback;
every action (approve, reject, regenerate) needs an editor (a token from BOOKCTL_EDITOR_TOKENS, the one-time token
`bookctl review` prints when none is configured, or in jwt mode an identity-provider JWT carrying the editor
claim, BOOKCTL_EDITOR_CLAIM; see bookctl.identity.editors) and a CSRF token (Litestar's CSRF middleware,
double-submit cookie). An editor signs in once (the session cookie; a JWT's session ends when the JWT expires)
or sends the JWT as `Authorization: Bearer` on each request. The session is Litestar's encrypted cookie session.
Variant text is LLM output, i.e. untrusted HTML: templates autoescape, Markdown renders with raw HTML off, and a strict CSP forbids inline script.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import ResponseHeader
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template
from typing_extensions import Annotated

from bookctl.api.deps import Injected, RuntimeDep
from bookctl.errors import AuthenticationError, BookctlError, ConfigError
from bookctl.review import service
from bookctl.review.render import markdown_html, word_diff
from bookctl.review.schemas import GOALS_NOTE

TEMPLATES = Path(__file__).resolve().parents[1] / "review" / "templates"
STATIC = Path(__file__).resolve().parents[1] / "review" / "static"
CSP = ("default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
SESSION_HOURS = 8


@dataclass(frozen=True)
class ReviewAccess:
    """Who may use the review page. `editors` are (name, token) pairs; `loopback` is the bind address's kind."""

    editors: tuple[tuple[str, str], ...]
    loopback: bool
    generated: bool = False  # the token was made up at start (printed once on the terminal)
    jwt: Any = None  # bookctl.identity.editors.JwtEditors in jwt mode: provider JWTs with the editor claim

    @classmethod
    def for_bind(cls, host: str, editor_tokens: tuple[tuple[str, str], ...], jwt: Any = None) -> "ReviewAccess":
        loopback = is_loopback(host)
        if editor_tokens:
            return cls(editor_tokens, loopback, jwt=jwt)
        if not loopback and jwt is None:
            raise ConfigError(f"bookctl review on {host} (not a loopback address) needs editor credentials: set "
                              "BOOKCTL_EDITOR_TOKENS=name:token[,name:token...] (tokens of 16+ characters), or use "
                              "BOOKCTL_AUTH=jwt, where identity-provider JWTs with BOOKCTL_EDITOR_CLAIM are editors")
        if not loopback:
            return cls((), loopback, jwt=jwt)
        return cls((("editor", secrets.token_urlsafe(24)),), loopback, generated=True, jwt=jwt)

    @classmethod
    def from_settings(cls, host: str, settings: Any) -> "ReviewAccess":
        jwt = None
        if settings.auth == "jwt":
            from bookctl.identity import Identity
            from bookctl.identity.editors import EditorClaim, JwtEditors

            jwt = JwtEditors(Identity.from_settings(settings).jwks, EditorClaim.parse(settings.editor_claim))
        return cls.for_bind(host, settings.editor_tokens, jwt)

    def sign_in(self, token: str) -> tuple[str, int | None]:
        """(reviewer name, expiry or None) for an editor credential; AuthenticationError (401) if it is none,
        PermissionDeniedError (403) for a provider JWT without the editor claim, 503 if the JWKS is down."""
        name = self.editor_for(token)
        if name is not None:
            return name, None
        if self.jwt is not None and token.count(".") == 2:
            return self.jwt.editor(token)
        raise AuthenticationError("that token is not an editor token", detail={"reason": "not_editor"})

    def editor_for(self, token: str | None) -> str | None:
        if not token:
            return None
        found = None
        for name, expected in self.editors:  # compare with every token, in constant time each
            if hmac.compare_digest(token.encode(), expected.encode()):
                found = name
        return found


def is_loopback(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _editor(request: Request, access: ReviewAccess) -> str | None:
    """The signed-in editor (session), or the editor whose JWT this request carries (jwt mode); a bearer token
    that is not an editor's is refused (401/403), never ignored."""
    authorization = request.headers.get("authorization")
    if authorization and access.jwt is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError("Authorization must be 'Bearer <JWT>'", detail={"reason": "scheme"})
        return access.jwt.editor(token.strip())[0]
    session = (request.session or {}) if "session" in request.scope else {}
    until = session.get("until")
    if until is not None and time.time() >= until:  # signed in with a JWT that has expired since
        request.clear_session()
        return None
    return session.get("editor")


def _may_read(request: Request, access: ReviewAccess) -> bool:
    return access.loopback or _editor(request, access) is not None


def _login_redirect() -> Redirect:
    return Redirect("/review/login", status_code=303)


def _flash(request: Request, message: str, kind: str = "ok") -> None:
    request.session["flash"] = {"kind": kind, "message": message[:500]}


def _pop_flash(request: Request) -> dict[str, str] | None:
    return request.session.pop("flash", None) if "session" in request.scope and request.session else None


class ReviewController(Controller):
    path = "/review"
    tags = ["Review"]
    include_in_schema = False
    response_headers = [
        ResponseHeader(name="Content-Security-Policy", value=CSP),
        ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
        ResponseHeader(name="Referrer-Policy", value="no-referrer"),
        ResponseHeader(name="X-Frame-Options", value="DENY"),
        ResponseHeader(name="Cache-Control", value="no-store"),
    ]

    @get("/", sync_to_thread=True)
    def lessons(self, request: Request, runtime: RuntimeDep, review_access: Injected,
                personalization: Injected) -> Template | Redirect:
        if not _may_read(request, review_access):
            return _login_redirect()
        with runtime.session() as session:
            lessons = service.lesson_summaries(session, personalization.prompt_version)
            backlog = service.backlog(session, personalization.prompt_version)
        return Template("list.html", context={
            "lessons": lessons, "backlog": backlog, "editor": _editor(request, review_access), "flash": _pop_flash(request),
            "policy": runtime.settings.variant_review})

    @get("/lessons/{lesson_id:uuid}", sync_to_thread=True)
    def lesson(self, request: Request, runtime: RuntimeDep, review_access: Injected, personalization: Injected,
               lesson_id: FromPath[uuid.UUID], variant: FromQuery[uuid.UUID | None] = None,
               view: FromQuery[str] = "side") -> Template | Redirect:
        if not _may_read(request, review_access):
            return _login_redirect()
        version = personalization.prompt_version
        with runtime.session() as session:
            lesson, variants = service.lesson_variants(session, str(lesson_id), version)
            # the asked-for variant if it is one of this lesson's; else the first current one
            chosen = variant if variant in {v.id for v in variants} else next(
                (v.id for v in variants if not v.stale), variants[0].id if variants else None)
            detail = service.variant_detail(session, runtime.store, chosen, version) if chosen else None
            lesson_title, lesson_route = lesson.title, lesson.route
            original = detail.original if detail else _lesson_original(runtime, lesson)
        diff = word_diff(detail.original, detail.text) if detail is not None and view == "diff" else None
        return Template("lesson.html", context={
            "lesson_id": lesson_id, "lesson_title": lesson_title, "lesson_route": lesson_route,
            "variants": variants, "detail": detail, "view": "diff" if view == "diff" else "side",
            "original_html": markdown_html(original), "variant_html": markdown_html(detail.text) if detail else "",
            "diff_html": diff, "editor": _editor(request, review_access), "flash": _pop_flash(request), "goals_note": GOALS_NOTE,
            "policy": runtime.settings.variant_review})

    @post("/variants/{variant_id:uuid}/approve", sync_to_thread=True, status_code=303)
    def approve(self, request: Request, runtime: RuntimeDep, personalization: Injected, review_access: Injected,
                variant_id: FromPath[uuid.UUID]) -> Redirect:
        editor = _require_editor(request, review_access)
        return _act(request, runtime, variant_id, lambda session: service.approve(
            session, variant_id, editor, _now(), personalization.prompt_version), "approved")

    @post("/variants/{variant_id:uuid}/reject", sync_to_thread=True, status_code=303)
    def reject(self, request: Request, runtime: RuntimeDep, personalization: Injected, review_access: Injected,
               variant_id: FromPath[uuid.UUID],
               data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Redirect:
        editor = _require_editor(request, review_access)
        note = str(data.get("note") or "")
        return _act(request, runtime, variant_id, lambda session: service.reject(
            session, variant_id, editor, note, _now(), personalization.prompt_version),
            "rejected: learners are not served it; regenerate it now or let the next request do it")

    @post("/variants/{variant_id:uuid}/regenerate", sync_to_thread=True, status_code=303)
    def regenerate(self, request: Request, runtime: RuntimeDep, personalization: Injected, review_access: Injected,
                   variant_id: FromPath[uuid.UUID]) -> Redirect:
        _require_editor(request, review_access)
        return _act(request, runtime, variant_id, lambda _session: personalization.regenerate(variant_id),
                    "regenerated: the new text is unreviewed")

    # sync in a worker thread: a JWT sign-in may fetch the identity provider's JWKS
    @get("/login", sync_to_thread=True)
    def login_form(self, request: Request, review_access: Injected, token: FromQuery[str | None] = None) -> Template | Redirect:
        if token is not None:  # the one-time URL `bookctl review` prints
            return _sign_in(request, review_access, token)
        return Template("login.html", context={"error": None, "jwt": review_access.jwt is not None})

    @post("/login", sync_to_thread=True, status_code=303)
    def login(self, request: Request, review_access: Injected,
              data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Template | Redirect:
        return _sign_in(request, review_access, str(data.get("token") or ""))

    @post("/logout", sync_to_thread=False, status_code=303)
    def logout(self, request: Request) -> Redirect:
        request.clear_session()
        return Redirect("/review/login", status_code=303)


def _sign_in(request: Request, access: ReviewAccess, token: str) -> Template | Redirect:
    try:
        name, until = access.sign_in(token)
    except BookctlError as exc:
        return Template("login.html", context={"error": exc.message, "jwt": access.jwt is not None},
                        status_code=exc.status_code)
    request.set_session({"editor": name} if until is None else {"editor": name, "until": until})
    return Redirect("/review/", status_code=303)


def _require_editor(request: Request, access: ReviewAccess) -> str:
    editor = _editor(request, access)
    if editor is None:
        raise AuthenticationError("sign in as an editor first (/review/login)")
    return editor


def _act(request: Request, runtime: Any, variant_id: uuid.UUID, action, done: str) -> Redirect:
    """Run one action; report the outcome on the next page (an error is shown, never a bare JSON page)."""
    try:
        with runtime.session() as session:
            action(session)
        _flash(request, done)
    except BookctlError as exc:
        _flash(request, exc.message, "error")
    with runtime.session() as session:
        lesson_id = service.lesson_of_variant(session, variant_id)
    if lesson_id is None:
        return Redirect("/review/", status_code=303)
    return Redirect(f"/review/lessons/{lesson_id}?variant={variant_id}", status_code=303)


def _lesson_original(runtime: Any, lesson: Any) -> str:
    from bookctl.personalization.service import lesson_text

    if not lesson.bucket_path:
        return ""
    try:
        return lesson_text(runtime.store.get(lesson.bucket_path))
    except BookctlError:
        return ""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def review_app_parts(settings: Any, access: ReviewAccess) -> dict[str, Any]:
    """What create_app adds for the review page: controller, static files, templates, session and CSRF."""
    import hashlib

    from litestar.config.csrf import CSRFConfig
    from litestar.middleware.session.client_side import CookieBackendConfig
    from litestar.plugins.jinja import JinjaTemplateEngine
    from litestar.static_files import create_static_files_router
    from litestar.template.config import TemplateConfig

    from bookctl.api.auth import load_secret_key

    # both derived from the API's signing key, so every replica of `bookctl review` agrees, and rotating the key
    # signs everyone out
    secret = load_secret_key(settings)
    if isinstance(secret, str):
        secret = secret.encode()
    session_key = hashlib.sha256(b"bookctl-review-session:" + secret).digest()
    csrf_secret = hashlib.sha256(b"bookctl-review-csrf:" + secret).hexdigest()
    # the learner API (if served beside the page) keeps its bearer-token auth: no review cookies, no CSRF there
    only_review = [r"^/api", r"^/healthz", r"^/readyz", r"^/metrics", r"^/schema", r"^/mcp"]
    sessions = CookieBackendConfig(secret=session_key, key="bookctl_review", path="/review", httponly=True,
                                   samesite="strict", max_age=SESSION_HOURS * 3600, exclude=only_review,
                                   secure=not access.loopback)
    return {
        "route_handlers": [ReviewController,
                           create_static_files_router(path="/review/static", directories=[STATIC],
                                                      include_in_schema=False)],
        "middleware": [sessions.middleware],
        "csrf_config": CSRFConfig(secret=csrf_secret, cookie_name="bookctl_review_csrf", cookie_path="/review",
                                  cookie_samesite="strict", cookie_httponly=False, cookie_secure=not access.loopback,
                                  exclude=only_review),
        "template_config": TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine),
        "review_access": access,
    }
