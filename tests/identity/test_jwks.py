"""JWKSVerifier (jwt mode's verification, transport-free) against a real JWKS endpoint on loopback, with keys
generated here: what it accepts, every forgery it refuses, key rotation, and a provider that goes down."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest
from cryptography.hazmat.primitives import serialization

from bookctl.errors import AuthenticationError, IdentityProviderUnavailableError
from bookctl.identity import JWKSVerifier, learner_id
from tests.fakes.jwks_server import JWKSServer, SigningKey, b64


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def idp():
    with JWKSServer() as server:
        yield server


def verifier(idp: JWKSServer, clock: Clock | None = None, **kwargs) -> JWKSVerifier:
    return JWKSVerifier(idp.url, issuer=idp.issuer, audience=idp.issuer, clock=clock or Clock(), **kwargs)


@pytest.mark.parametrize("alg", ["EdDSA", "RS256", "ES256"])
def test_accepts_each_algorithm(idp, alg):
    key = SigningKey.generate(alg)
    idp.publish(key)
    v = verifier(idp)
    claims = v.verify(key.sign(idp.claims("user-abc")))
    assert claims["sub"] == "user-abc"
    # better-auth ids are not UUIDs: the learner id is a stable UUIDv5 of (issuer, sub); a UUID sub is kept
    assert v.learner(key.sign(idp.claims("user-abc"))) == learner_id(idp.issuer, "user-abc")
    assert learner_id(idp.issuer, "user-abc") != learner_id("https://other.example", "user-abc")
    uid = "0b6c6d9e-8f43-4bd4-9a59-0e2b0a7e3c11"
    assert str(v.learner(key.sign(idp.claims(uid)))) == uid


@pytest.mark.parametrize("alg", ["EdDSA", "RS256", "ES256"])
def test_keys_published_without_alg_or_use(idp, alg):
    key = SigningKey.generate(alg)
    key.bare = True
    idp.publish(key)
    assert verifier(idp).verify(key.sign(idp.claims("x")))["sub"] == "x"


def _reason(v: JWKSVerifier, token: str) -> str:
    with pytest.raises(AuthenticationError) as err:
        v.verify(token)
    assert err.value.status_code == 401
    return err.value.detail["reason"]


def test_every_forgery_is_rejected(idp):
    key = SigningKey.generate("EdDSA", kid="k1")
    rsa_key = SigningKey.generate("RS256", kid="r1")
    idp.publish(key, rsa_key)
    clock = Clock()
    v = verifier(idp, clock, leeway=30)
    now = int(time.time())
    good = idp.claims("learner-1")
    assert v.verify(key.sign(good))["sub"] == "learner-1"

    # alg none, with and without a signature
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': 'k1'})}.{b64(good)}."
    assert _reason(v, unsigned) == "algorithm"
    # HS256 "signed" with the public key as the HMAC secret (the classic key-confusion attack), both as PEM and
    # as the raw JWK value
    pem = rsa_key.private.public_key().public_bytes(serialization.Encoding.PEM,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo)
    for secret, kid in ((pem, "r1"), (key.public_jwk()["x"].encode(), "k1")):
        signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{b64(good)}"
        sig = b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())
        assert _reason(v, f"{signing_input}.{sig}") == "algorithm"
    # an RS256 header on an Ed25519 key
    assert _reason(v, rsa_key.sign(good, headers={"kid": "k1"})) in ("algorithm", "signature")
    # expired beyond the leeway, and not yet valid beyond it
    assert _reason(v, key.sign({**good, "exp": now - 120, "iat": now - 1000})) == "expired"
    assert _reason(v, key.sign({**good, "nbf": now + 600})) == "not_yet_valid"
    assert _reason(v, key.sign({**good, "iat": now + 600, "exp": now + 1200})) == "not_yet_valid"
    # within the leeway: accepted (clock skew)
    assert v.verify(key.sign({**good, "exp": now - 10}))["sub"] == "learner-1"
    # wrong issuer, wrong audience, missing claims
    assert _reason(v, key.sign({**good, "iss": "https://evil.example"})) == "issuer"
    assert _reason(v, key.sign({**good, "aud": "https://other-app.example"})) == "audience"
    assert _reason(v, key.sign({k: x for k, x in good.items() if k != "exp"})) == "missing_claim"
    # tampered: payload swapped under a valid signature; signed by a different key claiming kid k1
    head, _, sig = key.sign(good).split(".")
    assert _reason(v, f"{head}.{b64({**good, 'sub': 'someone-else'})}.{sig}") == "signature"
    impostor = SigningKey.generate("EdDSA", kid="k1")
    assert _reason(v, impostor.sign(good)) == "signature"
    # garbage
    for junk in ("", "abc", "a.b.c", "Bearer x"):
        assert _reason(v, junk) in ("malformed", "algorithm")
    # a kid the provider does not publish, even after a refetch
    clock.now += 31  # past the refetch interval since the first fetch
    before = idp.requests
    assert _reason(v, SigningKey.generate("EdDSA", kid="nope").sign(good)) == "unknown_kid"
    assert idp.requests == before + 1


def test_rotation_is_picked_up_and_refetches_are_bounded(idp):
    clock = Clock()
    old = SigningKey.generate("EdDSA", kid="2024")
    idp.publish(old)
    v = verifier(idp, clock, refetch_interval=30, cache_seconds=300)
    assert v.verify(old.sign(idp.claims("a")))["sub"] == "a"
    assert idp.requests == 1

    new = SigningKey.generate("EdDSA", kid="2025")
    idp.publish(new, old)  # rotated; the old key stays for a grace period, as better-auth does
    clock.now += 31
    assert v.verify(new.sign(idp.claims("a")))["sub"] == "a"  # unknown kid -> one refetch -> found
    assert idp.requests == 2
    assert v.verify(old.sign(idp.claims("a")))["sub"] == "a"
    # random kids cannot make it hammer the provider: at most one refetch per interval
    for i in range(20):
        with pytest.raises(AuthenticationError):
            v.verify(SigningKey.generate("EdDSA", kid=f"random-{i}").sign(idp.claims("a")))
    assert idp.requests == 2  # the refetch for kid 2025 was just now
    clock.now += 31
    with pytest.raises(AuthenticationError):
        v.verify(SigningKey.generate("EdDSA", kid="random-x").sign(idp.claims("a")))
    assert idp.requests == 3


def test_provider_down_keeps_cached_keys_and_is_503_for_unknown_ones(idp):
    clock = Clock()
    key = SigningKey.generate("ES256", kid="live")
    idp.publish(key)
    v = verifier(idp, clock, refetch_interval=10, cache_seconds=60)
    token = key.sign(idp.claims("a"))
    assert v.verify(token)["sub"] == "a"

    idp.down = True
    clock.now += 3600  # the cached set is long stale, and the refetch fails: the cached key keeps working
    assert v.verify(token)["sub"] == "a"
    assert v.verify(key.sign(idp.claims("b")))["sub"] == "b"
    with pytest.raises(IdentityProviderUnavailableError) as err:
        clock.now += 11
        v.verify(SigningKey.generate("EdDSA", kid="rotated").sign(idp.claims("a")))
    assert err.value.status_code == 503 and err.value.detail["retry_after"] >= 1

    # never reachable at all: 503, not 401 (the token may be fine) and not 500
    cold = verifier(idp)
    with pytest.raises(IdentityProviderUnavailableError):
        cold.verify(token)

    idp.down = False
    clock.now += 11
    assert v.verify(token)["sub"] == "a"
