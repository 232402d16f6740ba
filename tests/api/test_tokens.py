"""bookctl's own tokens (token mode): standard HS256 JWTs with a kid, key rotation, refresh, and tokens that do
not outlive their user. Plus header mode's refusal to listen beyond loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from dataclasses import replace

import jwt
import pytest
from litestar.testing import TestClient

from bookctl.api.app import create_app
from bookctl.db import models as m
from bookctl.identity import TokenSigner, check_bind, is_loopback
from bookctl.identity.tokens import key_id
from tests.api.conftest import SECRET, free_port, open_runtime
from tests.live import wait_for_http

OLD_KEY = SECRET
NEW_KEY = "the-next-secret-key-0123456789-abcdefghij"


def app_with(sqlite_env, **settings):
    runtime = open_runtime(replace(sqlite_env, settings=replace(sqlite_env.settings, **settings)))
    return runtime, create_app(runtime)


def test_tokens_are_standard_hs256_jwts_with_a_kid(client):
    r = client.post("/api/user/create", json={})
    token = r.json()["token"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "HS256" and header["kid"] == key_id(SECRET.encode()) and SECRET not in header["kid"]
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], issuer="bookctl")
    assert claims["sub"] == r.json()["id"] and claims["exp"] > claims["iat"] and isinstance(claims["uct"], int)
    # alg none and a token without a kid are refused
    unsigned = jwt.encode(claims, None, algorithm="none")
    no_kid = jwt.encode(claims, SECRET, algorithm="HS256")
    for bad in (unsigned, no_kid):
        assert client.get("/api/user/me", headers={"Authorization": f"Bearer {bad}"}).status_code == 401
    me = client.get("/api/user/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["id"] == r.json()["id"]


def test_key_rotation_old_tokens_verify_until_the_old_key_is_dropped(sqlite_env):
    rt_old, old_app = app_with(sqlite_env)
    rt_new, new_app = app_with(sqlite_env, secret_key=NEW_KEY, previous_secret_keys=(OLD_KEY,))
    rt_dropped, dropped_app = app_with(sqlite_env, secret_key=NEW_KEY)
    try:
        with TestClient(old_app) as old, TestClient(new_app) as new, TestClient(dropped_app) as dropped:
            created = old.post("/api/user/create", json={}).json()
            auth = {"Authorization": f"Bearer {created['token']}"}
            # after rotation: the old token still verifies...
            assert new.get("/api/user/me", headers=auth).status_code == 200
            # ...new tokens are signed with the new key, and a refresh moves the learner onto it
            fresh = new.post("/api/user/create", json={}).json()["token"]
            assert jwt.get_unverified_header(fresh)["kid"] == key_id(NEW_KEY.encode())
            refreshed = new.post("/api/user/token/refresh", headers=auth)
            assert refreshed.status_code == 200, refreshed.text
            new_token = refreshed.json()["token"]
            assert jwt.get_unverified_header(new_token)["kid"] == key_id(NEW_KEY.encode())
            # once the old key is dropped, only the refreshed token works
            r = dropped.get("/api/user/me", headers=auth)
            assert r.status_code == 401 and r.json()["detail"]["reason"] == "unknown_kid"
            assert dropped.get("/api/user/me", headers={"Authorization": f"Bearer {new_token}"}).status_code == 200
    finally:
        for rt in (rt_old, rt_new, rt_dropped):
            rt.close()


def test_refresh_lets_an_expired_token_back_in_within_the_window(sqlite_env, client):
    created = client.post("/api/user/create", json={}).json()
    uid = uuid.UUID(created["id"])
    user_created = jwt.decode(created["token"], SECRET, algorithms=["HS256"], issuer="bookctl")["uct"]
    signer = TokenSigner(SECRET.encode(), 3600, refresh_window=7 * 86400)
    expired, _ = signer.issue(uid, user_created=user_created, now=time.time() - 2 * 86400)
    stale, _ = signer.issue(uid, user_created=user_created, now=time.time() - 40 * 86400)
    auth = {"Authorization": f"Bearer {expired}"}
    r = client.get("/api/progress", headers=auth)
    assert r.status_code == 401 and "refresh" in r.json()["message"]
    # a second create is 409: before refresh, an expired token locked the learner out of their own data
    assert client.post("/api/user/create", json={"user_id": str(uid)}).status_code == 409
    r = client.post("/api/user/token/refresh", headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == str(uid)
    new = {"Authorization": f"Bearer {r.json()['token']}"}
    assert client.get("/api/progress", headers=new).status_code == 200
    # too long expired (default window 30 days), forged, or someone else's X-User-ID: refused
    assert client.post("/api/user/token/refresh", headers={"Authorization": f"Bearer {stale}"}).status_code == 401
    forged = TokenSigner(b"x" * 40, 3600).issue(uid, user_created=user_created)[0]
    assert client.post("/api/user/token/refresh", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    assert client.post("/api/user/token/refresh").status_code == 401
    r = client.post("/api/user/token/refresh", headers={**new, "X-User-ID": str(uuid.uuid4())})
    assert r.status_code == 403


def test_a_token_does_not_outlive_its_user(client, runtime):
    uid = str(uuid.uuid4())
    first = client.post("/api/user/create", json={"user_id": uid}).json()["token"]
    old = {"Authorization": f"Bearer {first}"}
    assert client.get("/api/user/me", headers=old).status_code == 200
    with runtime.session() as session:
        session.delete(session.get(m.User, uuid.UUID(uid)))
    assert client.get("/api/user/me", headers=old).status_code == 404  # the user is gone
    # someone re-creates the same client-chosen id: the old token must not come back to life
    second = client.post("/api/user/create", json={"user_id": uid}).json()["token"]
    r = client.get("/api/user/me", headers=old)
    assert r.status_code == 401 and r.json()["detail"]["reason"] == "user_recreated"
    assert client.post("/api/user/token/refresh", headers=old).status_code == 401
    assert client.get("/api/user/me", headers={"Authorization": f"Bearer {second}"}).status_code == 200


def test_header_mode_refuses_a_non_loopback_bind(tmp_path):
    from bookctl.config import load_settings
    from bookctl.errors import ConfigError

    header = load_settings({"BOOKCTL_AUTH": "header"})
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10")
    check_bind(header, "127.0.0.1")
    with pytest.raises(ConfigError):
        check_bind(header, "0.0.0.0")
    check_bind(load_settings({"BOOKCTL_AUTH": "header", "BOOKCTL_ALLOW_HEADER_AUTH": "1"}), "0.0.0.0")
    check_bind(load_settings({}), "0.0.0.0")  # token mode may listen anywhere

    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKCTL_")}
    env.update(BOOKCTL_AUTH="header", BOOKCTL_DATA_DIR=str(tmp_path / "data"), BOOKCTL_BOOK=str(tmp_path))
    port = free_port()
    cmd = [sys.executable, "-m", "bookctl", "serve", "--host", "0.0.0.0", "--port", str(port), "--log-level", "warning"]
    refused = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2, refused.stderr
    assert "BOOKCTL_ALLOW_HEADER_AUTH" in refused.stderr and "Traceback" not in refused.stderr
    # explicitly allowed: it starts (and shouts)
    proc = subprocess.Popen(cmd, env={**env, "BOOKCTL_ALLOW_HEADER_AUTH": "1"}, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", proc, 120, "bookctl serve")
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=15)
    assert "TRUSTED WITHOUT A TOKEN" in stderr
