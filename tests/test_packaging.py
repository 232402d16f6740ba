"""The built wheel runs with no source tree (issue 10): what a container build does with `pip install .`.

The sdist is built from a copy of the repository, the wheel from that sdist (`python -m build`), and the
wheel, not an editable install, goes into a fresh virtualenv. From a directory holding only a book, that
venv's `bookctl` runs `--version`, `db upgrade`, `sync`, `embed` and `serve` (/healthz, /readyz) on SQLite
and on PostgreSQL.

Dependencies come from the wheels alone, with no network at test time: `python3 dev.py setup` collects the
runtime dependencies' wheels (at the versions the dev venv has) into `.venv/wheelhouse`, and the built wheel
is installed with `pip install --no-index --find-links <wheelhouse>` and pip's configuration switched off. So
pip resolves the wheel's OWN dependency metadata: a dependency missing from it fails here. Nothing of the dev
venv or of the source tree is on the fresh venv's path (checked).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import venv
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, SAMPLE_BOOK
from tests.live import free_port, wait_for_http

pytestmark = pytest.mark.slow
_IGNORE = shutil.ignore_patterns(".venv", ".git", ".bookctl", "__pycache__", "*.egg-info", "build", "dist",
                                 ".pytest_cache", ".hypothesis", ".work", "node_modules")


WHEELHOUSE = Path(os.environ.get("BOOKCTL_WHEELHOUSE") or Path(sys.prefix) / "wheelhouse")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    wheelhouse = WHEELHOUSE
    if not (wheelhouse / ".complete").exists():  # a failure, not a skip: the check would otherwise be missing
        pytest.fail(f"no wheelhouse at {wheelhouse}: run `python3 dev.py setup` (it collects the runtime "
                    "dependencies' wheels once), or set BOOKCTL_WHEELHOUSE to a directory of them")
    root = tmp_path_factory.mktemp("packaging")
    source = root / "source"
    shutil.copytree(REPO, source, ignore=_IGNORE)
    dist = root / "dist"
    # sdist first, then the wheel built FROM the sdist: the sdist alone must be enough to build bookctl
    done = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(source)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    wheel = next(dist.glob("bookctl-*.whl"))
    sdist = next(dist.glob("bookctl-*.tar.gz"))

    env_dir = root / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    purelib = Path(subprocess.check_output([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                           text=True).strip())
    # only the wheelhouse: no index, no find-links or constraints from any pip configuration of this machine
    pip_env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")} | {"PIP_CONFIG_FILE": os.devnull}
    done = subprocess.run([sys.executable, "-m", "pip", "--isolated", "--python", str(python), "install", "--no-index",
                           "--find-links", str(wheelhouse), "--disable-pip-version-check", str(wheel)],
                          env=pip_env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    work = root / "work"  # no source tree here: a book, a data dir, nothing else
    shutil.copytree(SAMPLE_BOOK, work / "book")
    return {"wheel": wheel, "sdist": sdist, "bin": env_dir / "bin", "python": python, "purelib": purelib, "work": work}


def test_wheel_and_sdist_carry_migrations_license_and_metadata(installed) -> None:
    import tomllib

    names = zipfile.ZipFile(installed["wheel"]).namelist()
    assert "bookctl/migrations/env.py" in names and "bookctl/migrations/script.py.mako" in names
    assert any(n.startswith("bookctl/migrations/versions/0001_") for n in names)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    metadata = zipfile.ZipFile(installed["wheel"]).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requires = {line.split(": ", 1)[1].split(";")[0].replace(" ", "") for line in metadata.splitlines()
                if line.startswith("Requires-Dist:") and "extra ==" not in line}
    assert requires == {d.replace(" ", "") for d in pyproject["dependencies"]}
    assert "License-Expression: MIT" in metadata and "Project-URL: Deployment" in metadata
    assert "Classifier: Programming Language :: Python :: 3.11" in metadata
    sdist_names = tarfile.open(installed["sdist"]).getnames()
    assert any(n.endswith("/LICENSE") for n in sdist_names)
    assert any(n.endswith("bookctl/migrations/script.py.mako") for n in sdist_names)
    assert "MIT License" in (REPO / "LICENSE").read_text()


def _run(installed, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(installed["bin"] / "bookctl"), *args], cwd=installed["work"], env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("dialect", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_built_wheel_upgrades_syncs_embeds_and_serves(installed, dialect, request, tmp_path, fake_openai) -> None:
    from tests.conftest import create_pg_database

    data = tmp_path / "data"
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "BOOKCTL_DATA_DIR": str(data),
           "BOOKCTL_STORAGE_URL": f"file://{data / 'storage'}", "BOOKCTL_BOOK": str(installed["work"] / "book"),
           "BOOKCTL_EMBEDDINGS": "openai:text-embedding-3-small", "OPENAI_BASE_URL": fake_openai.base_url,
           "OPENAI_API_KEY": "test", "BOOKCTL_SECRET_KEY": "p" * 48}
    if dialect == "postgresql":
        env["BOOKCTL_DATABASE_URL"] = create_pg_database(request)

    where = subprocess.run([str(installed["python"]), "-c",
                            "import json, sys, bookctl, litestar; print(json.dumps([bookctl.__file__, litestar.__file__, sys.path]))"],
                           cwd=installed["work"], env=env, capture_output=True, text=True)
    assert where.returncode == 0, where.stderr
    bookctl_file, litestar_file, path = json.loads(where.stdout)
    assert Path(bookctl_file).is_relative_to(installed["purelib"])  # the installed wheel, not the source
    assert Path(litestar_file).is_relative_to(installed["purelib"])  # a dependency, installed from the wheelhouse
    dev_site = sysconfig.get_paths()["purelib"]
    assert not any(p and (Path(p).resolve().is_relative_to(REPO) or p == dev_site) for p in path), path

    version = _run(installed, env, "--version")
    assert version.returncode == 0 and version.stdout.strip() == f"bookctl {installed['wheel'].name.split('-')[1]}"

    upgraded = _run(installed, env, "db", "upgrade", "--json")
    assert upgraded.returncode == 0, upgraded.stderr
    from bookctl.db.revisions import alembic_head

    assert json.loads(upgraded.stdout)["revision"] == alembic_head()

    synced = _run(installed, env, "sync", "--json")
    assert synced.returncode == 0, synced.stderr
    assert json.loads(synced.stdout)["lessons"] > 0 and json.loads(synced.stdout)["uploaded"] > 0

    embedded = _run(installed, env, "embed", "--json")
    assert embedded.returncode == 0, embedded.stderr
    assert json.loads(embedded.stdout)["embedded"] > 0

    port = free_port()
    proc = subprocess.Popen([str(installed["bin"] / "bookctl"), "serve", "--log-level", "warning"],
                            cwd=installed["work"], env={**env, "PORT": str(port), "BOOKCTL_HOST": "127.0.0.1"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", proc, 90, "the installed bookctl serve")
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        book = httpx.get(f"http://127.0.0.1:{port}/api/content/book", timeout=10)
        assert book.status_code == 200 and book.json()["parts"], book.text  # the synced book, served
    finally:
        proc.terminate()
        proc.wait(timeout=20)
