"""bookctl's own tokens, transport-free (TokenSigner): the rules the API and the MCP server share."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone

import jwt
import pytest

from bookctl.errors import AuthenticationError
from bookctl.identity import TokenSigner
from bookctl.identity.tokens import key_id, micros

OLD, NEW = b"o" * 40, b"n" * 40
CREATED = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


def reason(signer: TokenSigner, token: str, **kwargs) -> str:
    with pytest.raises(AuthenticationError) as err:
        signer.verify(token, **kwargs)
    return err.value.detail["reason"]


def test_issue_and_verify_round_trip():
    uid = uuid.uuid4()
    token, expires = TokenSigner(OLD, 60).issue(uid, user_created=CREATED)
    claims = TokenSigner(OLD, 60).verify(token)
    assert claims.user_id == uid and claims.user_created == micros(CREATED) and claims.kid == key_id(OLD)
    assert expires.timestamp() == claims.expires
    # naive datetimes (SQLite hands them back) are UTC: the same instant, the same number
    assert micros(CREATED.replace(tzinfo=None)) == micros(CREATED)


def test_rotation_previous_keys_verify_but_never_sign():
    uid = uuid.uuid4()
    old_token, _ = TokenSigner(OLD, 60).issue(uid, user_created=CREATED)
    rotated = TokenSigner([NEW, OLD], 60)
    assert rotated.verify(old_token).kid == key_id(OLD)
    assert jwt.get_unverified_header(rotated.issue(uid)[0])["kid"] == key_id(NEW)
    assert reason(TokenSigner(NEW, 60), old_token) == "unknown_kid"


def test_refresh_window_and_algorithms():
    uid = uuid.uuid4()
    signer = TokenSigner(OLD, 60, refresh_window=100)
    token, _ = signer.issue(uid, user_created=CREATED, now=time.time() - 120)  # expired 60 s ago
    assert reason(signer, token) == "expired"
    assert signer.verify(token, for_refresh=True).user_id == uid
    stale, _ = signer.issue(uid, user_created=CREATED, now=time.time() - 200)  # expired 140 s ago
    assert reason(signer, stale, for_refresh=True) == "expired"
    claims = {"iss": "bookctl", "sub": str(uid), "iat": int(time.time()), "exp": int(time.time()) + 60}
    assert reason(signer, jwt.encode(claims, None, algorithm="none")) == "algorithm"
    assert reason(signer, jwt.encode(claims, OLD, algorithm="HS512", headers={"kid": key_id(OLD)})) == "algorithm"
    wrong_iss = jwt.encode({**claims, "iss": "elsewhere"}, OLD, algorithm="HS256", headers={"kid": key_id(OLD)})
    assert reason(signer, wrong_iss) == "issuer"
    assert OLD.decode() not in key_id(OLD)
