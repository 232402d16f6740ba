"""One Settings object, read once at the edge from the environment (and an optional bookctl.toml).

Every setting has one environment variable; a bad value fails at start-up with that variable's name.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Mapping

from bookctl.errors import ConfigError

DATA_DIR = Path(".bookctl")
AUTH_MODES = ("token", "header")
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
    token_ttl: int = 30 * 24 * 3600  # seconds a learner's bearer token stays valid
    max_body_bytes: int = 64 * 1024  # API request body limit (413 above it)
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
    llm_price_table: Path | None = None
    # editors' review of variants (issue 15): `required` serves learners approved variants only
    variant_review: str = "off"
    # (reviewer name, token) pairs from BOOKCTL_EDITOR_TOKENS="ana:tok1,sam:tok2" (a bare token is "editor")
    editor_tokens: tuple[tuple[str, str], ...] = field(default=(), repr=False)
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
    "token_ttl": ("BOOKCTL_TOKEN_TTL",),
    "max_body_bytes": ("BOOKCTL_MAX_BODY_BYTES",),
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
    "llm_price_table": ("BOOKCTL_LLM_PRICE_TABLE",),
    "variant_review": ("BOOKCTL_VARIANT_REVIEW",),
    "editor_tokens": ("BOOKCTL_EDITOR_TOKENS",),
    "mcp_user_token": ("BOOKCTL_MCP_USER_TOKEN",),
}


def load_settings(env: Mapping[str, str] | None = None, toml_path: Path | None = None) -> Settings:
    """Build Settings from bookctl.toml (if present) overlaid by the environment."""
    env = os.environ if env is None else env
    raw: dict[str, tuple[str, object]] = {}
    toml_path = toml_path or Path(env.get("BOOKCTL_CONFIG", "bookctl.toml"))
    if toml_path.is_file():
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
            raise ConfigError(f"{source} must start with one of {', '.join(s + '://' for s in STORAGE_SCHEMES)}; got {text!r}")
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
    if name in _PERSONALIZE_NUMBERS:  # (type, minimum)
        kind, minimum = _PERSONALIZE_NUMBERS[name]
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
    if name in _POSITIVE_INTS:
        try:
            number = int(text)
        except ValueError:
            raise ConfigError(f"{source} must be a whole number; got {text!r}") from None
        if number < _POSITIVE_INTS[name]:
            raise ConfigError(f"{source} must be at least {_POSITIVE_INTS[name]}; got {number}")
        return number
    return text


_PERSONALIZE_NUMBERS: dict[str, tuple[type, float]] = {
    "llm_timeout": (float, 0.001), "llm_max_attempts": (int, 1), "llm_backoff": (float, 0.0),
    "personalize_concurrency": (int, 1), "personalize_miss_limit": (int, 0), "personalize_miss_window": (float, 1.0),
}
_POSITIVE_INTS = {"chunk_tokens": 32, "embed_batch_inputs": 1, "embed_batch_tokens": 1, "embed_concurrency": 1,
                  "embed_max_retries": 0, "token_ttl": 60, "max_body_bytes": 1024}


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


def _redact(url: str) -> str:
    """Hide a password in a URL so it never reaches a log or an error message."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


redact_url = _redact
