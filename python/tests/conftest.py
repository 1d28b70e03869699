"""Fixtures: RSA keys made with `cryptography`, tokens signed with PyJWT, and a real JWKS issuer
(http.server on 127.0.0.1, in a thread) whose answers each test controls."""

from __future__ import annotations

import base64
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "flask_app"
if str(EXAMPLE) not in sys.path:
    sys.path.insert(0, str(EXAMPLE))

TENANT = "shark-academy"
AUDIENCE = "http://localhost:8081"


def b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class Key:
    def __init__(self, kid: str, bits: int = 2048) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        numbers = self.private.public_key().public_numbers()
        self.jwk: Dict[str, Any] = {
            "kty": "RSA",
            "kid": kid,
            "use": "sig",
            "alg": "RS256",
            "n": b64url_uint(numbers.n),
            "e": b64url_uint(numbers.e),
        }

    def sign(self, claims: Dict[str, Any], *, kid: Optional[str] = "default", headers: Optional[Dict[str, Any]] = None) -> str:
        header = dict(headers or {})
        if kid == "default":
            header["kid"] = self.kid
        elif kid is not None:
            header["kid"] = kid
        return jwt.encode(claims, self.private, algorithm="RS256", headers=header)


@pytest.fixture(scope="session")
def k1() -> Key:
    return Key("k1")


@pytest.fixture(scope="session")
def k2() -> Key:
    return Key("k2")


class Issuer:
    """A JWKS issuer on 127.0.0.1: serves ``document`` at ``/t/<tenant>/.well-known``."""

    def __init__(self) -> None:
        self.document: bytes = b'{"keys": []}'
        self.status = 200
        self.delay = 0.0
        self.cache_control: Optional[str] = None
        self.requests = 0
        self.lock = threading.Lock()
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                with issuer.lock:
                    issuer.requests += 1
                    status, body, delay, cc = issuer.status, issuer.document, issuer.delay, issuer.cache_control
                if delay:
                    time.sleep(delay)
                if self.path != f"/t/{TENANT}/.well-known":
                    status, body = 404, b"{}"
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if cc:
                    self.send_header("Cache-Control", cc)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.issuer = f"{self.base_url}/t/{TENANT}"
        self.jwks_url = f"{self.issuer}/.well-known"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def serve(self, *keys: Key) -> None:
        with self.lock:
            self.document = json.dumps({"keys": [k.jwk for k in keys]}).encode()
            self.status = 200

    def claims(self, **overrides: Any) -> Dict[str, Any]:
        now = int(time.time())
        claims: Dict[str, Any] = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": "user-1",
            "iat": now - 10,
            "exp": now + 3600,
            "scp": ["openid", "email"],
            "email": "max@example.com",
            "ips": "cryptr",
            "cid": "client-1",
            "tnt": TENANT,
        }
        for name, value in overrides.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    server = Issuer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def make_app(issuer: Issuer) -> Any:
    """Builds the example tutorial app, configured for the local issuer."""
    import server  # examples/flask_app/server.py

    def build(**overrides: Any) -> Any:
        config: Dict[str, Any] = {
            "TESTING": True,
            "CRYPTR_BASE_URL": issuer.base_url,
            "CRYPTR_TENANT_DOMAIN": TENANT,
            "CRYPTR_AUDIENCE": AUDIENCE,
            "CRYPTR_ALLOW_HTTP": True,
            "CRYPTR_JWKS_URL": None,
            "CRYPTR_JWKS_TIMEOUT": 2,
        }
        config.update(overrides)
        return server.create_app(config)

    return build


def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def courses() -> List[Dict[str, Any]]:
    import server

    return list(server.COURSES)
