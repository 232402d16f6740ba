"""Settings: a bad value exits 2 with the variable's name in one stderr line; secrets never reach any output."""

from __future__ import annotations

from pathlib import Path

import pytest

from bookctl.config import Settings, load_settings, redact_url
from bookctl.errors import ConfigError
from tests.conftest import Workspace, make_workspace

SECRET = "s3cr3t-Pa55"
API_KEY = "sk-test-DO-NOT-PRINT-1234567890"


@pytest.fixture
def ws(tmp_path: Path, fixture_book: Path) -> Workspace:
    return make_workspace(tmp_path / "ws", fixture_book)


@pytest.mark.parametrize(("variable", "value"), [
    ("BOOKCTL_DATABASE_URL", f"mysql://admin:{SECRET}@db.example.com/book"),
    ("BOOKCTL_DATABASE_URL", "not a url"),
    ("DATABASE_URL", f"oracle://admin:{SECRET}@db/book"),
    ("BOOKCTL_STORAGE_URL", "ftp://bucket/prefix"),
    ("BOOKCTL_STORAGE_URL", "storage"),
    ("BOOKCTL_AUTH", "none"),
    ("BOOKCTL_LOCK_TIMEOUT", "soon"),
    ("BOOKCTL_LOCK_TIMEOUT", "-1"),
])
@pytest.mark.parametrize("command", [["sync"], ["sync", "--json"], ["status"], ["db", "current"]])
def test_bad_setting_exits_2_naming_the_variable(ws: Workspace, variable: str, value: str, command: list[str]) -> None:
    if variable == "DATABASE_URL":
        ws.env.pop("BOOKCTL_DATABASE_URL", None)
    result = ws.run(*command, **{variable: value})
    assert result.code == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bookctl: ") and variable in lines[0], result.stderr
    assert SECRET not in result.stdout + result.stderr
    if "--json" in command:
        assert result.json["error"] == "config_error" and variable in result.json["message"]


def test_unreachable_database_is_one_clean_line_without_the_password(ws: Workspace) -> None:
    url = f"postgresql://bookctl:{SECRET}@127.0.0.1:1/bookctl?connect_timeout=2"
    for command in (["sync"], ["status"], ["db", "upgrade"], ["db", "current"]):
        result = ws.run(*command, BOOKCTL_DATABASE_URL=url)
        assert result.code == 2, result
        assert "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "BOOKCTL_DATABASE_URL" in lines[0], result.stderr
        assert SECRET not in result.stdout + result.stderr
        assert "bookctl:***@127.0.0.1:1" in lines[0]


def test_storage_url_with_credentials_is_a_config_error(ws: Workspace) -> None:
    result = ws.run("sync", BOOKCTL_STORAGE_URL=f"s3://key:{SECRET}@bucket/prefix")
    assert result.code == 2
    assert "BOOKCTL_STORAGE_URL" in result.stderr and SECRET not in result.stderr + result.stdout
    assert not Path(ws.env["BOOKCTL_DATA_DIR"]).exists()  # refused before the embedded database was created


def test_api_key_never_printed(ws: Workspace) -> None:
    for command in (["check"], ["check", "--json"], ["sync"], ["sync", "--json"], ["status", "--json"],
                    ["db", "current", "--json"]):
        result = ws.run(*command, OPENAI_API_KEY=API_KEY, BOOKCTL_SECRET_KEY=SECRET)
        assert result.code == 0, result
        assert API_KEY not in result.stdout + result.stderr and SECRET not in result.stdout + result.stderr
    settings = load_settings({"OPENAI_API_KEY": API_KEY, "BOOKCTL_SECRET_KEY": SECRET})
    assert settings.openai_api_key == API_KEY
    assert API_KEY not in repr(settings) and SECRET not in repr(settings)


def test_defaults_and_aliases(tmp_path: Path) -> None:
    settings = load_settings({}, toml_path=tmp_path / "missing.toml")
    assert settings == Settings(database_url="sqlite:///.bookctl/bookctl.db", storage_url="file://.bookctl/storage")
    assert settings.is_embedded_db and settings.is_sqlite and settings.auth == "token" and settings.lock_timeout == 30
    aliased = load_settings({"DATABASE_URL": "postgres://u:p@h/db"}, toml_path=tmp_path / "missing.toml")
    assert aliased.database_url == "postgresql+psycopg://u:p@h/db" and not aliased.is_embedded_db
    both = load_settings({"DATABASE_URL": "postgres://a@h/one", "BOOKCTL_DATABASE_URL": "postgresql://b@h/two"},
                         toml_path=tmp_path / "missing.toml")
    assert both.database_url == "postgresql+psycopg://b@h/two"  # the BOOKCTL_ name wins
    data = load_settings({"BOOKCTL_DATA_DIR": "/srv/x", "BOOKCTL_LOCK_TIMEOUT": "2.5", "BOOKCTL_ROUTE_BASE": "/book/"},
                         toml_path=tmp_path / "missing.toml")
    assert data.database_url == "sqlite:////srv/x/bookctl.db" and data.storage_url == "file:///srv/x/storage"
    assert data.lock_timeout == 2.5 and data.route_base == "/book"


def test_toml_file_overlaid_by_environment(tmp_path: Path) -> None:
    toml = tmp_path / "bookctl.toml"
    toml.write_text('[bookctl]\nauth = "header"\nlock_timeout = 3\n')
    assert load_settings({}, toml_path=toml).auth == "header"
    assert load_settings({"BOOKCTL_AUTH": "token"}, toml_path=toml).auth == "token"
    toml.write_text('[bookctl]\nauth = "nobody"\n')
    with pytest.raises(ConfigError, match="auth"):
        load_settings({}, toml_path=toml)
    toml.write_text("[bookctl]\ncolour = 'blue'\n")
    with pytest.raises(ConfigError, match="unknown setting 'colour'"):
        load_settings({}, toml_path=toml)
    toml.write_text("[bookctl\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings({}, toml_path=toml)


def test_redact_url() -> None:
    assert redact_url(f"postgresql+psycopg://user:{SECRET}@host:5432/db") == "postgresql+psycopg://user:***@host:5432/db"
    assert redact_url(f"postgresql://user:p@ss{SECRET}@host/db") == "postgresql://user:***@host/db"
    assert redact_url("sqlite:///.bookctl/bookctl.db") == "sqlite:///.bookctl/bookctl.db"
