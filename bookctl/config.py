"""One Settings object, read once at the edge from the environment (and an optional bookctl.toml).

Every setting has one environment variable; a bad value fails at start-up with that variable's name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Mapping

from bookctl.errors import ConfigError

DATA_DIR = Path(".bookctl")
AUTH_MODES = ("token", "header", "jwt")
STORAGE_SCHEMES = ("file", "s3", "mcp+http", "mcp+https", "mcp+sse")


@dataclass(frozen=True)
class Settings:
    database_url: str = ""
    storage_url: str = ""
    book_dir: Path = Path("curriculum")
    book_slug: str = ""
    data_dir: Path = DATA_DIR
    route_base: str = "/docs"
    embeddings: str = "local"
    llm_model: str = "gpt-4o-mini"
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    auth: str = "token"
    cors_origins: tuple[str, ...] = ("http://localhost:3000",)
    lock_timeout: float = 30.0
    max_delete_share: float = 0.5  # a sync taking more than this share of written lessons off needs --allow-mass-delete
    token_ttl: int = 30 * 24 * 3600  # seconds a learner's bearer token stays valid
    max_body_bytes: int = 64 * 1024  # API request body limit (413 above it)
    # bookctl serve: slow clients (seconds for a request's headers, then its body; connections per client IP)
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections_per_ip: int = 100
    # search (issue 4): chunk size in tokens, and OpenAI embedding request limits
    chunk_tokens: int = 500
    embed_batch_inputs: int = 256
    embed_batch_tokens: int = 100_000
    embed_concurrency: int = 4
    embed_max_retries: int = 5
    # personalization (issue 5): LLM timeouts/retries, concurrency, per-user miss limit, price table
    llm_timeout: float = 60.0
    llm_max_attempts: int = 4
    llm_backoff: float = 0.5
    personalize_concurrency: int = 4
    personalize_miss_limit: int = 20
    personalize_miss_window: float = 3600.0
    personalize_lease: float = 30.0  # seconds a generator's claim lives unless renewed (issue 10)
    personalize_wait: float = 300.0  # seconds a request waits for another process's generation at most
    llm_price_table: Path | None = None
    # editors' review of variants (issue 15): `required` serves learners approved variants only
    variant_review: str = "off"
    # (reviewer name, token) pairs from BOOKCTL_EDITOR_TOKENS="ana:tok1,sam:tok2" (a bare token is "editor")
    editor_tokens: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    # in jwt mode, the claim that makes an identity-provider JWT an editor credential (bookctl.identity.editors)
    editor_claim: str = "roles=editor"
    # object stores (issue 9): uploads/deletes in flight at once, and attempts per S3 request (throttling, 5xx)
    storage_concurrency: int = 8
    storage_max_attempts: int = 5
    # operations (issue 10): readiness needs an LLM unless personalization is off; request log format;
    # seconds a SIGTERMed server keeps answering 503 (so the load balancer notices) before it stops listening
    personalization: bool = True
    log_format: str = "text"
    shutdown_delay: float = 0.0
    # identity (issue 8): jwt mode (the site's identity provider), token rotation, header mode's guard rail,
    # and the site's baseUrl stripped from lesson pathnames at request time
    jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_leeway: int = 30  # seconds of clock skew allowed on exp/nbf/iat
    jwks_refetch_interval: float = 30.0  # at most one JWKS refetch for an unknown kid per this many seconds
    jwks_cache_seconds: float = 300.0  # the JWKS is re-read after this long (the last good one is kept if it fails)
    previous_secret_keys: tuple[str, ...] = field(default=(), repr=False)  # still verify, never sign
    token_refresh_window: int = 30 * 24 * 3600  # seconds after expiry a token may still be refreshed
    allow_header_auth: bool = False
    site_base_url: str = ""
    # MCP server (issue 12): over stdio, the learner is the one this bearer token names
    mcp_user_token: str | None = field(default=None, repr=False)

    @property
    def is_embedded_db(self) -> bool:
        return self.database_url == default_database_url(self.data_dir)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def with_book(self, book_dir: Path | str | None) -> "Settings":
        return self if book_dir is None else replace(self, book_dir=Path(book_dir))


def default_database_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'bookctl.db'}"


# (setting name, environment variables in order of preference)
_ENV: dict[str, tuple[str, ...]] = {
    "database_url": ("BOOKCTL_DATABASE_URL", "DATABASE_URL"),
    "storage_url": ("BOOKCTL_STORAGE_URL",),
    "book_dir": ("BOOKCTL_BOOK",),
    "book_slug": ("BOOKCTL_BOOK_SLUG",),
    "data_dir": ("BOOKCTL_DATA_DIR",),
    "route_base": ("BOOKCTL_ROUTE_BASE",),
    "embeddings": ("BOOKCTL_EMBEDDINGS",),
    "llm_model": ("BOOKCTL_LLM_MODEL",),
    "openai_api_key": ("OPENAI_API_KEY",),
    "openai_base_url": ("OPENAI_BASE_URL",),
    "secret_key": ("BOOKCTL_SECRET_KEY",),
    "auth": ("BOOKCTL_AUTH",),
    "cors_origins": ("BOOKCTL_CORS_ORIGINS",),
    "lock_timeout": ("BOOKCTL_LOCK_TIMEOUT",),
    "max_delete_share": ("BOOKCTL_MAX_DELETE_SHARE",),
    "token_ttl": ("BOOKCTL_TOKEN_TTL",),
    "max_body_bytes": ("BOOKCTL_MAX_BODY_BYTES",),
    "header_timeout": ("BOOKCTL_HEADER_TIMEOUT",),
    "body_timeout": ("BOOKCTL_BODY_TIMEOUT",),
    "max_connections_per_ip": ("BOOKCTL_MAX_CONNECTIONS_PER_IP",),
    "chunk_tokens": ("BOOKCTL_CHUNK_TOKENS",),
    "embed_batch_inputs": ("BOOKCTL_EMBED_BATCH_INPUTS",),
    "embed_batch_tokens": ("BOOKCTL_EMBED_BATCH_TOKENS",),
    "embed_concurrency": ("BOOKCTL_EMBED_CONCURRENCY",),
    "embed_max_retries": ("BOOKCTL_EMBED_MAX_RETRIES",),
    "llm_timeout": ("BOOKCTL_LLM_TIMEOUT",),
    "llm_max_attempts": ("BOOKCTL_LLM_MAX_ATTEMPTS",),
    "llm_backoff": ("BOOKCTL_LLM_BACKOFF",),
    "personalize_concurrency": ("BOOKCTL_PERSONALIZE_CONCURRENCY",),
    "personalize_miss_limit": ("BOOKCTL_PERSONALIZE_MISS_LIMIT",),
    "personalize_miss_window": ("BOOKCTL_PERSONALIZE_MISS_WINDOW",),
    "personalize_lease": ("BOOKCTL_PERSONALIZE_LEASE",),
    "personalize_wait": ("BOOKCTL_PERSONALIZE_WAIT",),
    "llm_price_table": ("BOOKCTL_LLM_PRICE_TABLE",),
    "variant_review": ("BOOKCTL_VARIANT_REVIEW",),
    "editor_tokens": ("BOOKCTL_EDITOR_TOKENS",),
    "editor_claim": ("BOOKCTL_EDITOR_CLAIM",),
    "storage_concurrency": ("BOOKCTL_STORAGE_CONCURRENCY",),
    "storage_max_attempts": ("BOOKCTL_STORAGE_MAX_ATTEMPTS",),
    "personalization": ("BOOKCTL_PERSONALIZATION",),
    "log_format": ("BOOKCTL_LOG_FORMAT",),
    "shutdown_delay": ("BOOKCTL_SHUTDOWN_DELAY",),
    "jwks_url": ("BOOKCTL_JWKS_URL",),
    "jwt_issuer": ("BOOKCTL_JWT_ISSUER",),
    "jwt_audience": ("BOOKCTL_JWT_AUDIENCE",),
    "jwt_leeway": ("BOOKCTL_JWT_LEEWAY",),
    "jwks_refetch_interval": ("BOOKCTL_JWKS_REFETCH_INTERVAL",),
    "jwks_cache_seconds": ("BOOKCTL_JWKS_CACHE_SECONDS",),
    "previous_secret_keys": ("BOOKCTL_PREVIOUS_SECRET_KEYS",),
    "token_refresh_window": ("BOOKCTL_TOKEN_REFRESH_WINDOW",),
    "allow_header_auth": ("BOOKCTL_ALLOW_HEADER_AUTH",),
    "site_base_url": ("BOOKCTL_SITE_BASE_URL",),
    "mcp_user_token": ("BOOKCTL_MCP_USER_TOKEN",),
}


def load_settings(env: Mapping[str, str] | None = None, toml_path: Path | None = None) -> Settings:
    """Build Settings from bookctl.toml (if present) overlaid by the environment."""
    env = os.environ if env is None else env
    raw: dict[str, tuple[str, object]] = {}
    toml_path = toml_path or Path(env.get("BOOKCTL_CONFIG", "bookctl.toml"))
    if toml_path.is_file():
        import tomllib  # only with a bookctl.toml: every command reads settings, few have that file

        try:
            table = tomllib.loads(toml_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{toml_path}: not valid TOML: {exc}") from exc
        known = {f.name for f in fields(Settings)}
        for key, value in table.get("bookctl", table).items():
            if key not in known:
                raise ConfigError(f"{toml_path}: unknown setting {key!r}")
            raw[key] = (f"{toml_path}:{key}", value)
    for name, variables in _ENV.items():
        for var in variables:
            if env.get(var, "") != "":
                raw[name] = (var, env[var])
                break
    return _build(raw)


def _build(raw: dict[str, tuple[str, object]]) -> Settings:
    values: dict[str, object] = {}
    for name, (source, value) in raw.items():
        values[name] = _coerce(name, source, value)
    data_dir = Path(values.get("data_dir", DATA_DIR))  # type: ignore[arg-type]
    values.setdefault("database_url", default_database_url(data_dir))
    values.setdefault("storage_url", f"file://{data_dir / 'storage'}")
    if values.get("auth") == "jwt":
        missing = [var for name, var in (("jwks_url", "BOOKCTL_JWKS_URL"), ("jwt_issuer", "BOOKCTL_JWT_ISSUER"),
                                         ("jwt_audience", "BOOKCTL_JWT_AUDIENCE")) if not values.get(name)]
        if missing:
            raise ConfigError(f"BOOKCTL_AUTH=jwt needs {', '.join(missing)} (the identity provider's JWKS URL, "
                              "the issuer and the audience its tokens carry)")
    return Settings(**values)  # type: ignore[arg-type]


def _coerce(name: str, source: str, value: object) -> object:
    text = str(value).strip()
    if name == "database_url":
        if text.startswith("postgres://"):
            text = "postgresql+psycopg://" + text[len("postgres://"):]
        elif text.startswith("postgresql://"):
            text = "postgresql+psycopg://" + text[len("postgresql://"):]
        if not (text.startswith("sqlite") or text.startswith("postgresql")):
            raise ConfigError(f"{source} must be a sqlite:/// or postgresql:// URL, got {_redact(text)!r}")
        return text
    if name == "storage_url":
        scheme = text.split("://", 1)[0] if "://" in text else ""
        if scheme not in STORAGE_SCHEMES:
            got = f"a {scheme}:// URL" if scheme else repr(text[:40])  # never echo a URL: it may carry a token
            raise ConfigError(f"{source} must start with one of {', '.join(s + '://' for s in STORAGE_SCHEMES)}; got {got}")
        return text
    if name in ("book_dir", "data_dir"):
        return Path(text)
    if name == "auth":
        if text not in AUTH_MODES:
            raise ConfigError(f"{source} must be one of {', '.join(AUTH_MODES)}; got {text!r}")
        return text
    if name == "route_base":
        return "/" + text.strip("/") if text.strip("/") else ""
    if name == "cors_origins":
        items = value if isinstance(value, list) else text.split(",")
        return tuple(str(o).strip() for o in items if str(o).strip())
    if name == "lock_timeout":
        try:
            number = float(text)
        except ValueError:
            raise ConfigError(f"{source} must be a number of seconds; got {text!r}") from None
        if number < 0:
            raise ConfigError(f"{source} must not be negative")
        return number
    if name == "max_delete_share":
        try:
            number = float(text)
        except ValueError:
            raise ConfigError(f"{source} must be a share from 0 to 1 (0.5 = half); got {text!r}") from None
        if not 0 <= number <= 1:
            raise ConfigError(f"{source} must be a share from 0 to 1 (0.5 = half); got {number}")
        return number
    if name in _BOUNDED_NUMBERS:  # (type, minimum)
        kind, minimum = _BOUNDED_NUMBERS[name]
        try:
            number = kind(text)
        except ValueError:
            raise ConfigError(f"{source} must be a number; got {text!r}") from None
        if number < minimum:
            raise ConfigError(f"{source} must be at least {minimum}; got {number}")
        return number
    if name == "llm_price_table":
        return Path(text)
    if name == "variant_review":
        if text not in ("off", "required"):
            raise ConfigError(f"{source} must be off or required; got {text!r}")
        return text
    if name == "editor_tokens":
        return _editor_tokens(source, value)
    if name == "editor_claim":
        from bookctl.identity.editors import EditorClaim

        return str(EditorClaim.parse(text, source))
    if name == "personalization":
        if text.lower() not in _SWITCH:
            raise ConfigError(f"{source} must be on or off; got {text!r}")
        return _SWITCH[text.lower()]
    if name == "log_format":
        if text not in ("text", "json"):
            raise ConfigError(f"{source} must be text or json; got {text!r}")
        return text
    if name == "jwks_url":
        if not text.startswith(("http://", "https://")):
            raise ConfigError(f"{source} must be an http:// or https:// URL; got {text!r}")
        return text
    if name == "previous_secret_keys":
        items = value if isinstance(value, list) else text.split(",")
        return tuple(str(k).strip() for k in items if str(k).strip())
    if name == "allow_header_auth":
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{source} must be 1 or 0; got {text!r}")
    if name == "site_base_url":
        from urllib.parse import urlsplit

        path = urlsplit(text).path if "://" in text else text  # a full URL is allowed; only its path matters
        return "/" + path.strip("/") if path.strip("/") else ""
    if name in _POSITIVE_INTS:
        try:
            number = int(text)
        except ValueError:
            raise ConfigError(f"{source} must be a whole number; got {text!r}") from None
        if number < _POSITIVE_INTS[name]:
            raise ConfigError(f"{source} must be at least {_POSITIVE_INTS[name]}; got {number}")
        return number
    return text


# numbers with a floor: (type, minimum)
_BOUNDED_NUMBERS: dict[str, tuple[type, float]] = {
    "llm_timeout": (float, 0.001), "llm_max_attempts": (int, 1), "llm_backoff": (float, 0.0),
    "personalize_concurrency": (int, 1), "header_timeout": (float, 0.1), "body_timeout": (float, 0.1),
    "max_connections_per_ip": (int, 1), "personalize_miss_limit": (int, 0), "personalize_miss_window": (float, 1.0),
    "personalize_lease": (float, 0.5), "personalize_wait": (float, 0.1), "shutdown_delay": (float, 0.0),
    "jwt_leeway": (int, 0), "jwks_refetch_interval": (float, 0.0), "jwks_cache_seconds": (float, 1.0),
    "token_refresh_window": (int, 0),
}
_SWITCH = {"on": True, "true": True, "1": True, "yes": True, "off": False, "false": False, "0": False, "no": False}
_POSITIVE_INTS = {"chunk_tokens": 32, "embed_batch_inputs": 1, "embed_batch_tokens": 1, "embed_concurrency": 1,
                  "embed_max_retries": 0, "token_ttl": 60, "max_body_bytes": 1024,
                  "storage_concurrency": 1, "storage_max_attempts": 1}


MIN_EDITOR_TOKEN = 16


def _editor_tokens(source: str, value: object) -> tuple[tuple[str, str], ...]:
    items = value if isinstance(value, list) else str(value).split(",")
    pairs: list[tuple[str, str]] = []
    for i, item in enumerate(str(x).strip() for x in items):
        if not item:
            continue
        name, _, token = item.rpartition(":") if ":" in item else ("editor", ":", item)
        name, token = name.strip() or "editor", token.strip()
        if len(token) < MIN_EDITOR_TOKEN:  # never echo the token itself
            raise ConfigError(f"{source}: editor token #{i + 1} ({name}) is shorter than {MIN_EDITOR_TOKEN} characters")
        pairs.append((name, token))
    return tuple(pairs)


# Query parameters libpq (and drivers) accept that carry a secret; any name containing one of these words.
_SECRET_WORDS = ("password", "passwd", "pwd", "secret", "token", "key", "passfile", "credential")


def _redact(url: str) -> str:
    """Hide every credential in a URL (userinfo password, ?password=, ?sslpassword=, ...) so it never reaches a
    log or an error message. Unparseable input is hidden whole rather than risk printing a secret."""
    from urllib.parse import parse_qsl, urlencode, urlsplit

    try:
        parts = urlsplit(url)
        out = url
        if "@" in parts.netloc:
            creds, host = parts.netloc.rsplit("@", 1)
            user = creds.split(":", 1)[0]
            out = out.replace("//" + parts.netloc, "//" + (f"{user}:***@{host}" if ":" in creds else f"{user}@{host}"), 1)
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        if any(any(w in k.lower() for w in _SECRET_WORDS) for k, _ in pairs):
            query = [(k, "***" if any(w in k.lower() for w in _SECRET_WORDS) else v) for k, v in pairs]
            out = out.replace("?" + parts.query, "?" + urlencode(query, safe="*/:"), 1)
        return out
    except ValueError:
        return "<unreadable URL hidden>"


def url_secrets(url: str) -> list[str]:
    """The secret values inside `url`, so a message quoting a driver's error can be scrubbed of them too."""
    from urllib.parse import parse_qsl, unquote, urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found = []
    if parts.password:
        found += [parts.password, unquote(parts.password)]
    found += [v for k, v in parse_qsl(parts.query) if v and any(w in k.lower() for w in _SECRET_WORDS)]
    return sorted({v for v in found if len(v) >= 2}, key=len, reverse=True)


def scrub(message: str, url: str) -> str:
    """`message` with every secret of `url` replaced by ***."""
    for secret in url_secrets(url):
        message = message.replace(secret, "***")
    return message


redact_url = _redact
