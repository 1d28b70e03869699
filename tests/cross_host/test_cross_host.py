"""The cross-host table: the same requests to every host of the project, each a real server process
on 127.0.0.1 with the same CRYPTR_* settings, against one JWKS issuer. Every host must answer every
row as the core does (the in-process guard of cryptr_guard is the oracle: status, body code and
error, WWW-Authenticate, Retry-After on a 503), so all hosts answer identically.

Hosts: Flask under gunicorn, FastAPI under uvicorn, Django REST framework under gunicorn, and the
Rust server (`cryptr-guard serve`, the binary named by CRYPTR_GUARD_BIN). Run by
scripts/test-cross-host.sh.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Tuple

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

import cryptr_guard

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TENANT = "shark-academy"
DOWN_TENANT = "blue-whale"  # configured, but its JWKS endpoint answers 500
AUDIENCE = "http://localhost:8081"
CLIENT_ID = "e68989a5-bd87-45ca-8d0e-d5f91f285849"
BIN = Path(os.environ.get("CRYPTR_GUARD_BIN", ROOT / "target" / "debug" / "cryptr-guard")).resolve()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class Key:
    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = self.private.public_key().public_numbers()
        self.jwk = {
            "kty": "RSA",
            "kid": kid,
            "use": "sig",
            "alg": "RS256",
            "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
            "e": b64url(numbers.e.to_bytes(3, "big")),
        }

    def sign(self, claims: Dict[str, Any], **header: Any) -> str:
        return jwt.encode(claims, self.private, algorithm="RS256", headers={"kid": self.kid, **header})


class Issuer:
    """The JWKS issuer: ``/t/shark-academy/.well-known`` serves the key, the down tenant's 500."""

    def __init__(self, key: Key) -> None:
        document = json.dumps({"keys": [key.jwk]}).encode()
        wanted = f"/t/{TENANT}/.well-known"

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                status, body = (200, document) if self.path == wanted else (500, b"{}")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def issuer(self, tenant: str = TENANT) -> str:
        return f"{self.base_url}/t/{tenant}"


class Row(NamedTuple):
    name: str
    header: Optional[str]
    path: str = "/api/v1/courses"


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


@pytest.fixture(scope="session")
def key() -> Key:
    return Key("k1")


@pytest.fixture(scope="session")
def issuer(key: Key) -> Issuer:
    return Issuer(key)


@pytest.fixture(scope="session")
def settings(issuer: Issuer) -> Dict[str, str]:
    return {
        "CRYPTR_BASE_URL": issuer.base_url,
        "CRYPTR_TENANT_DOMAIN": f"{TENANT},{DOWN_TENANT}",
        "CRYPTR_AUDIENCE": AUDIENCE,
        "CRYPTR_CLIENT_IDS": CLIENT_ID,
        "CRYPTR_ALLOW_HTTP": "true",
        "CRYPTR_JWKS_TIMEOUT": "2",
        # The server's per-route scopes (the Python apps declare theirs in code).
        "CRYPTR_GUARD_ROUTE_SCOPES": "/api/v1/me=admin",
    }


def commands(port: int) -> Dict[str, List[str]]:
    python = sys.executable
    bind = f"127.0.0.1:{port}"
    gunicorn = [python, "-m", "gunicorn", "-w", "1", "-b", bind, "--log-level", "warning"]
    return {
        "flask": [*gunicorn, "flask_app:app"],
        "fastapi": [python, "-m", "uvicorn", "fastapi_app:app", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        "django": [*gunicorn, "django_app:application"],
        "server": [str(BIN), "serve"],
    }


HOSTS = ["flask", "fastapi", "django", "server"]


class Host:
    def __init__(self, name: str, settings: Dict[str, str]) -> None:
        self.name = name
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        env = dict(os.environ)
        env = {k: v for k, v in env.items() if not k.startswith("CRYPTR_")}
        env.update(settings)
        env.update(CRYPTR_GUARD_BIND=f"127.0.0.1:{port}", PYTHONPATH=str(HERE), RUST_LOG="warn")
        self.process = subprocess.Popen(commands(port)[name], cwd=HERE, env=env)

    def ready(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", int(self.base_url.rsplit(":", 1)[1])), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not start")

    def get(self, row: Row) -> Dict[str, Any]:
        request = urllib.request.Request(self.base_url + row.path)
        if row.header is not None:
            request.add_header("Authorization", row.header)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, headers, body = response.status, response.headers, response.read()
        except urllib.error.HTTPError as e:
            status, headers, body = e.code, e.headers, e.read()
        answer: Dict[str, Any] = {"status": status}
        if status != 200:
            try:
                data = json.loads(body)
            except ValueError:
                data = {"body": body.decode("utf-8", "replace")}
            answer.update(
                code=data.get("code"),
                error=data.get("error"),
                www_authenticate=headers.get("WWW-Authenticate"),
                retry_after=headers.get("Retry-After") is not None,
            )
        return answer

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="session")
def hosts(settings: Dict[str, str]) -> Iterator[Dict[str, Host]]:
    if not BIN.is_file():
        raise RuntimeError(f"{BIN}: build it first (scripts/test-cross-host.sh does)")
    started = {name: Host(name, settings) for name in HOSTS}
    try:
        deadline = time.monotonic() + 60
        for host in started.values():
            host.ready(deadline)
        yield started
    finally:
        for host in started.values():
            host.stop()


@pytest.fixture(scope="session")
def table(issuer: Issuer, key: Key) -> List[Row]:
    now = int(time.time())
    other = Key("k1")  # same kid, another key: the signature does not verify
    stranger = Key("k9")
    iss = issuer.issuer()

    def v1(**overrides: Any) -> Dict[str, Any]:
        claims = {"iss": iss, "aud": AUDIENCE, "sub": "user-1", "iat": now - 10, "exp": now + 3600,
                  "scp": ["openid", "email"], "cid": "client-1", "tnt": TENANT}
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    v3 = {"aud": [], "sub": "user-3", "iat": now - 10, "exp": now + 3600, "scope": ["openid", "email", "profile"],
          "client_id": CLIENT_ID, "org": TENANT}
    hs256 = b64url(b'{"alg":"HS256","kid":"k1"}') + ".e30.c2ln"
    return [
        Row("v1 token", "Bearer " + key.sign(v1())),
        Row("v3 token (issuer in the header, aud [])", "Bearer " + key.sign(v3, iss=iss)),
        Row("lower-case scheme", "bearer " + key.sign(v1())),
        Row("no header", None),
        Row("empty header", ""),
        Row("Basic", "Basic dXNlcjpwYXNz"),
        Row("bare Bearer", "Bearer"),
        Row("two tokens", "Bearer a b"),
        Row("garbage", "Bearer not-a-token"),
        Row("HS256", "Bearer " + hs256),
        Row("bad signature", "Bearer " + other.sign(v1())),
        Row("unknown kid", "Bearer " + stranger.sign(v1())),
        Row("expired", "Bearer " + key.sign(v1(iat=now - 7200, exp=now - 3600))),
        Row("not yet valid", "Bearer " + key.sign(v1(nbf=now + 3600))),
        Row("exp a string", "Bearer " + key.sign(v1(exp=str(now + 3600)))),
        Row("no exp", "Bearer " + key.sign(v1(exp=None))),
        Row("wrong audience", "Bearer " + key.sign(v1(aud="https://another-api.example.com"))),
        Row("organization not configured", "Bearer " + key.sign(v1(iss=issuer.issuer("not-configured")))),
        Row("issuer's JWKS down", "Bearer " + key.sign(v1(iss=issuer.issuer(DOWN_TENANT), tnt=DOWN_TENANT))),
        Row("wrong scope", "Bearer " + key.sign(v1()), "/api/v1/me"),
        Row("right scope", "Bearer " + key.sign(v1(scp=["openid", "admin"])), "/api/v1/me"),
    ]


@pytest.fixture(scope="session")
def oracle(settings: Dict[str, str], table: List[Row]) -> Dict[str, Dict[str, Any]]:
    """The core's answer to every row, from a guard in this process with the same settings."""
    guard = cryptr_guard.Guard(settings)
    answers: Dict[str, Dict[str, Any]] = {}
    for row in table:
        try:
            token = guard.authenticate(row.header)
            if row.path == "/api/v1/me":
                cryptr_guard.require_scopes(token, ["admin"])
            answers[row.name] = {"status": 200}
        except cryptr_guard.CryptrGuardError as error:
            answer = error.answer
            assert answer is not None
            answers[row.name] = {
                "status": answer.status,
                "code": answer.code,
                "error": answer.error,
                "www_authenticate": answer.www_authenticate,
                "retry_after": answer.retry_after is not None,
            }
    return answers


@pytest.fixture(scope="session")
def answers(hosts: Dict[str, Host], table: List[Row]) -> Dict[str, Dict[str, Dict[str, Any]]]:
    return {name: {row.name: host.get(row) for row in table} for name, host in hosts.items()}


def rows_of(host: str, table: List[Row]) -> List[str]:
    return [row.name for row in table]


@pytest.mark.parametrize("host", HOSTS)
def test_host_answers_the_table_as_the_core(host: str, answers: Any, oracle: Any, table: List[Row]) -> None:
    wrong = {
        name: {"got": answers[host][name], "core": oracle[name]}
        for name in rows_of(host, table)
        if answers[host][name] != oracle[name]
    }
    assert not wrong, json.dumps(wrong, indent=1)


def test_every_host_answers_alike(answers: Any, table: List[Row]) -> None:
    """Status, code, error and WWW-Authenticate per row, the same in every host."""
    for row in table:
        seen: Dict[Tuple[Any, ...], List[str]] = {}
        for host in HOSTS:
            if row.name in rows_of(host, table):
                a = answers[host][row.name]
                key = (a["status"], a.get("code"), a.get("error"), a.get("www_authenticate"))
                seen.setdefault(key, []).append(host)
        assert len(seen) == 1, f"{row.name}: {seen}"
    rows = [r for r in table if r.name in rows_of("server", table)]
    assert len(rows) >= 19
