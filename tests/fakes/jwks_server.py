"""A JWKS endpoint on 127.0.0.1 (like better-auth's `/api/auth/jwks`) and the keys behind it, made in the test.

    with JWKSServer() as idp:
        key = SigningKey.generate("EdDSA")
        idp.publish(key)
        token = key.sign({"sub": "u1", "iss": idp.issuer, "aud": idp.issuer, ...})
        idp.down = True   # every request now fails with 503 (the provider is down)
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm


@dataclass
class SigningKey:
    alg: str
    kid: str
    private: Any
    bare: bool = False  # publish without "alg"/"use" (allowed by RFC 7517; the algorithm follows from kty/crv)

    @classmethod
    def generate(cls, alg: str = "EdDSA", kid: str | None = None) -> "SigningKey":
        if alg == "EdDSA":
            private = ed25519.Ed25519PrivateKey.generate()
        elif alg == "RS256":
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        elif alg == "ES256":
            private = ec.generate_private_key(ec.SECP256R1())
        else:
            raise ValueError(alg)
        return cls(alg, kid or f"{alg.lower()}-{uuid.uuid4().hex[:8]}", private)

    def public_jwk(self) -> dict[str, Any]:
        algorithm = {"EdDSA": OKPAlgorithm, "RS256": RSAAlgorithm, "ES256": ECAlgorithm}[self.alg]
        jwk = algorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid} if self.bare else {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig"}

    def sign(self, claims: dict[str, Any], *, headers: dict[str, Any] | None = None) -> str:
        return jwt.encode(claims, self.private, algorithm=self.alg, headers={"kid": self.kid, **(headers or {})})


def b64(data: bytes | dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode() if isinstance(data, dict) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class JWKSServer:
    def __init__(self) -> None:
        self.keys: list[SigningKey] = []
        self.down = False
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                server.requests += 1
                if server.down or self.path != "/api/auth/jwks":
                    self.send_response(503 if server.down else 404)
                    self.end_headers()
                    return
                body = json.dumps({"keys": [k.public_jwk() for k in server.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return self.base + "/api/auth/jwks"

    @property
    def issuer(self) -> str:
        return self.base  # better-auth's default iss and aud: its base URL

    def publish(self, *keys: SigningKey) -> None:
        self.keys = list(keys)

    def claims(self, sub: str, **extra: Any) -> dict[str, Any]:
        """better-auth-style claims: iss and aud its base URL, 15 minutes of life."""
        now = int(time.time())
        return {"sub": sub, "iss": self.issuer, "aud": self.issuer, "iat": now, "exp": now + 900, **extra}

    def __enter__(self) -> "JWKSServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
