"""Identity benchmark: what verifying a bearer token costs per request, in process, on SQLite.

Three ways of answering "who is this?", in the same script (ratios, not wall-clock targets):
- baseline: a bare PyJWT HS256 decode (signature + claims, no database): what the pre-issue-8 HMAC check did;
- token mode: `Identity.authenticate` = that decode + the key lookup by kid + one primary-key read of the user
  (the token must belong to the user's current life: issue 11 item 16);
- jwt mode: an EdDSA (Ed25519) better-auth-style token verified against a cached JWKS (served on loopback, fetched
  once) + the user-exists check.

Writes the `## Identity (issue 8)` section of BENCHMARKS.md (also via `bench/run.py auth`). Not part of the test suite.

    .venv/bin/python bench/auth_bench.py [--n 3000]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import jwt  # noqa: E402

from bookctl.config import load_settings  # noqa: E402
from bookctl.identity import Identity, JWKSVerifier, TokenSigner  # noqa: E402
from bookctl.learners import users  # noqa: E402
from bookctl.runtime import Runtime  # noqa: E402
from tests.fakes.jwks_server import JWKSServer, SigningKey  # noqa: E402

SECTION = "Identity (issue 8)"
KEY = "bench-secret-key-0123456789abcdefghijkl"


def per_call_us(fn, n: int, repeats: int = 5) -> float:
    """The median over `repeats` of the mean µs per call of `n` calls."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(samples)


def measure(n: int) -> list[tuple[str, float]]:
    tmp = Path(tempfile.mkdtemp(prefix="bookctl-authbench-"))
    settings = load_settings({"BOOKCTL_DATA_DIR": str(tmp), "BOOKCTL_SECRET_KEY": KEY})
    runtime = Runtime.open(settings)
    try:
        with runtime.session() as session:
            user = users.create_user(session, None)
        identity = Identity.from_settings(settings)
        token, _ = identity.issue(user.id, user.created_at)
        signer = TokenSigner(KEY.encode(), 3600)

        def bare_decode():
            jwt.decode(token, KEY, algorithms=["HS256"], issuer="bookctl")

        def token_mode():
            with runtime.session() as session:
                identity.authenticate(session, token)

        rows = [("bare HS256 decode (baseline)", per_call_us(bare_decode, n))]
        rows.append(("token mode: Identity.authenticate (decode + kid + user read)", per_call_us(token_mode, n)))
        with JWKSServer() as idp:
            key = SigningKey.generate("EdDSA")
            idp.publish(key)
            jwt_identity = Identity("jwt", signer, JWKSVerifier(idp.url, issuer=idp.issuer, audience=idp.issuer))
            jwt_token = key.sign(idp.claims(str(user.id)))

            def jwt_mode():
                with runtime.session() as session:
                    jwt_identity.authenticate(session, jwt_token)

            rows.append(("jwt mode: EdDSA + cached JWKS + user check", per_call_us(jwt_mode, n // 2)))
            assert idp.requests == 1, idp.requests  # the JWKS was fetched once, then served from the cache
        return rows
    finally:
        runtime.close()


def body(rows: list[tuple[str, float]], n: int) -> str:
    base = rows[0][1]
    lines = [f"`bench/auth_bench.py`: the cost of answering \"who is this?\" per request, in process, SQLite "
             f"(mean of {n} calls, median of 5 repeats). The baseline is a bare PyJWT HS256 decode in the same run.",
             "", "| verification | µs per request | vs. baseline |", "|---|---:|---:|"]
    lines += [f"| {name} | {us:.0f} | {us / base:.1f}x |" for name, us in rows]
    lines += ["", "The database read is the price of tokens that do not outlive their user (a deleted and re-created "
              "id does not revive old tokens); it is one prebuilt primary-key read in its own short session.", "",
              f"Machine: {os.cpu_count()} CPUs, {platform.python_implementation()} {platform.python_version()}, "
              f"load average {os.getloadavg()[0]:.1f} while measuring (absolute µs scale with the load; the "
              f"ratios are the result), {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC."]
    return "\n".join(lines)


def main(n: int = 3000) -> str:
    """The section body (bench/run.py writes it under `## {SECTION}`)."""
    return body(measure(n), n)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=3000)
    args = parser.parse_args()
    from run import RESULTS, update_section

    text = main(args.n)
    print(text)
    RESULTS.write_text(update_section(RESULTS.read_text(encoding="utf-8"), SECTION, text), encoding="utf-8")
