"""Fixtures: RSA keys made with `cryptography`, tokens signed with PyJWT, a real JWKS issuer
(http.server on 127.0.0.1, in a thread) serving one or more tenants whose answers each test
controls, and a raw socket server that answers whatever bytes a test scripts (a misbehaving JWKS
endpoint)."""

from __future__ import annotations

import base64
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "flask_app"
if str(EXAMPLE) not in sys.path:
    sys.path.insert(0, str(EXAMPLE))

TENANT = "shark-academy"
OTHER_TENANT = "blue-whale"
AUDIENCE = "http://localhost:8081"
CLIENT_ID = "e68989a5-bd87-45ca-8d0e-d5f91f285849"


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
    """A JWKS issuer on 127.0.0.1: serves each tenant's document at ``/t/<tenant>/.well-known``
    (``document`` is the main tenant's)."""

    def __init__(self) -> None:
        self.documents: Dict[str, bytes] = {TENANT: b'{"keys": []}'}
        self.status = 200
        self.delay = 0.0
        self.cache_control: Optional[str] = None
        self.requests = 0
        self.paths: List[str] = []
        self.lock = threading.Lock()
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                with issuer.lock:
                    issuer.requests += 1
                    issuer.paths.append(self.path)
                    status, delay, cc = issuer.status, issuer.delay, issuer.cache_control
                    tenant = self.path[len("/t/") : -len("/.well-known")] if self.path.startswith("/t/") else ""
                    body = issuer.documents.get(tenant) if self.path.endswith("/.well-known") else None
                if delay:
                    time.sleep(delay)
                if body is None:
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
        self.issuer = self.issuer_of(TENANT)
        self.jwks_url = f"{self.issuer}/.well-known"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def issuer_of(self, tenant: str) -> str:
        return f"{self.base_url}/t/{tenant}"

    @property
    def document(self) -> bytes:
        return self.documents[TENANT]

    @document.setter
    def document(self, value: bytes) -> None:
        with self.lock:
            self.documents[TENANT] = value

    def serve(self, *keys: Key, tenant: str = TENANT) -> None:
        with self.lock:
            self.documents[tenant] = json.dumps({"keys": [k.jwk for k in keys]}).encode()
            self.status = 200

    def claims(self, **overrides: Any) -> Dict[str, Any]:
        """A v1 access token's claims (the tutorial's): ``iss``, ``aud`` a string, ``scp``, ``cid``,
        ``tnt``."""
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
            "ver": 1,
            "jtt": "access",
        }
        return _apply(claims, overrides)

    def v3_claims(self, tenant: str = TENANT, **overrides: Any) -> Dict[str, Any]:
        """A v3 access token's claims: no ``iss`` (it is in the header), ``aud: []``,
        ``client_id``, ``org``, ``scope``."""
        now = int(time.time())
        claims: Dict[str, Any] = {
            "aud": [],
            "sub": "user-3",
            "iat": now - 10,
            "exp": now + 3600,
            "scope": ["openid", "email", "profile"],
            "client_id": CLIENT_ID,
            "org": tenant,
            "ver": 3,
            "jtt": "access",
        }
        return _apply(claims, overrides)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _apply(claims: Dict[str, Any], overrides: Dict[str, Any]) -> Dict[str, Any]:
    for name, value in overrides.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


class RawServer:
    """A TCP server on 127.0.0.1 that reads each request's head and then runs ``script(conn)``:
    whatever bytes, at whatever pace, a misbehaving JWKS endpoint sends."""

    def __init__(self, script: Callable[[socket.socket], None]) -> None:
        self.script = script
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.connections = 0
        self.closed = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.closed.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            try:
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    head += chunk
                self.script(conn)
            except OSError:
                pass

    def close(self) -> None:
        self.closed.set()
        self.listener.close()


def _chunked_truncated(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{\"keys\": [")


def _bad_status_line(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 two hundred OK\r\n\r\n")


def _header_line_too_long(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70000 + b"\r\n\r\n{}")


def _too_many_headers(conn: socket.socket) -> None:
    headers = b"".join(b"X-H%d: v\r\n" % i for i in range(101))
    conn.sendall(b"HTTP/1.1 200 OK\r\n" + headers + b"\r\n{}")


def _closes_at_once(conn: socket.socket) -> None:
    pass


def _garbage(conn: socket.socket) -> None:
    conn.sendall(b"\x00\xff garbage\r\n\r\n")


#: Scripts of a misbehaving JWKS endpoint: each makes http.client raise (or read nothing).
MISBEHAVING: Dict[str, Callable[[socket.socket], None]] = {
    "truncated chunked body": _chunked_truncated,
    "bad status line": _bad_status_line,
    "header line over 64 KiB": _header_line_too_long,
    "more than 100 headers": _too_many_headers,
    "connection closed without answer": _closes_at_once,
    "garbage": _garbage,
}


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[socket.socket], None]], RawServer]]:
    servers: List[RawServer] = []

    def start(script: Callable[[socket.socket], None]) -> RawServer:
        server = RawServer(script)
        servers.append(server)
        return server

    try:
        yield start
    finally:
        for server in servers:
            server.close()


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
