"""One behaviour everywhere: the same table of requests to the Flask integration (under gunicorn)
and to `cryptr-guard serve`, both configured with the same CRYPTR_* settings for two Cryptr
organizations of a loopback issuer this test starts. Every row must get the same status, `code`,
`error` and `WWW-Authenticate` from both hosts, and the answer SPEC §3 gives.

Run by scripts/test-cross-host.sh (which builds the server and installs gunicorn); the server
binary is $CRYPTR_GUARD_BIN, default target/release/cryptr-guard.
"""

from __future__ import annotations

import base64
import http.client
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ROOT = Path(__file__).resolve().parents[2]
AUDIENCE = "https://api.example.test"
CLIENT = "e68989a5-bd87-45ca-8d0e-d5f91f285849"
CONFIGURED = ("acme", "globex")
NOW = int(time.time())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def uint(n: int) -> str:
    return b64(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class Org:
    """An organization of the test issuer: its own key and key set."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.kid = f"kid-{name}"
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = self.key.public_key().public_numbers()
        self.jwks = {
            "keys": [
                {"kty": "RSA", "kid": self.kid, "use": "sig", "alg": "RS256",
                 "n": uint(numbers.n), "e": uint(numbers.e)}
            ]
        }

    def sign(self, header: Dict[str, Any], payload: Dict[str, Any]) -> str:
        signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64(signature)}"


ORGS = {name: Org(name) for name in (*CONFIGURED, "initech")}


class Issuer(http.server.ThreadingHTTPServer):
    daemon_threads = True


class IssuerHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        parts = self.path.split("/")
        # /t/<org>/.well-known
        if len(parts) == 4 and parts[1] == "t" and parts[3] == ".well-known" and parts[2] in ORGS:
            body = json.dumps(ORGS[parts[2]].jwks).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_error(404)

    def log_message(self, *args: Any) -> None:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port}")


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    issuer = Issuer(("127.0.0.1", 0), IssuerHandler)
    thread = threading.Thread(target=issuer.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{issuer.server_address[1]}"
    issuer.shutdown()
    issuer.server_close()


def settings(base: str) -> Dict[str, str]:
    return {
        "CRYPTR_BASE_URL": base,
        "CRYPTR_TENANT_DOMAIN": ",".join(CONFIGURED),
        "CRYPTR_AUDIENCE": AUDIENCE,
        "CRYPTR_CLIENT_IDS": CLIENT,
        "CRYPTR_ALLOW_HTTP": "true",
    }


@pytest.fixture(scope="module")
def hosts(base_url: str) -> Iterator[Dict[str, int]]:
    env = {**os.environ, **settings(base_url)}
    flask_port, server_port = free_port(), free_port()
    venv_bin = Path(sys.executable).parent
    flask = subprocess.Popen(
        [str(venv_bin / "gunicorn"), "--log-level", "warning", "-w", "1", "-b", f"127.0.0.1:{flask_port}",
         "--chdir", str(Path(__file__).parent), "flask_app:app"],
        env=env,
    )
    server_bin = os.environ.get("CRYPTR_GUARD_BIN", str(ROOT / "target" / "release" / "cryptr-guard"))
    server = subprocess.Popen(
        [server_bin, "serve", "--bind", f"127.0.0.1:{server_port}"],
        env={**env, "CRYPTR_GUARD_ROUTE_SCOPES": "/api/v1/me=admin"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(flask_port, flask, "gunicorn")
        wait_listening(server_port, server, "cryptr-guard serve")
        yield {"flask": flask_port, "server": server_port}
    finally:
        for process in (flask, server):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def claims_v1(base: str, org: str, **extra: Any) -> Dict[str, Any]:
    return {"iss": f"{base}/t/{org}", "aud": AUDIENCE, "cid": CLIENT, "tnt": org,
            "scp": ["openid", "read:courses"], "sub": "user-1", "jtt": "access", "ver": 1,
            "iat": NOW - 10, "exp": NOW + 600, **extra}


def claims_v3(org: str, **extra: Any) -> Dict[str, Any]:
    return {"aud": [], "client_id": CLIENT, "org": org, "scope": ["openid", "read:courses"],
            "sub": "user-1", "jtt": "access", "ver": 3, "iat": NOW - 10, "exp": NOW + 600,
            **extra}


def header(base: str, org: str, **extra: Any) -> Dict[str, Any]:
    return {"alg": "RS256", "iss": f"{base}/t/{org}", "kid": ORGS[org].kid, "typ": "JWT", **extra}


# (name, path, Authorization header values, expected status, code, error)
Row = Tuple[str, str, List[bytes], int, str, Optional[str]]


def table(base: str) -> List[Row]:
    acme = ORGS["acme"]
    v1 = acme.sign(header(base, "acme"), claims_v1(base, "acme")).encode()
    v3 = acme.sign(header(base, "acme"), claims_v3("acme")).encode()
    v3_globex = ORGS["globex"].sign(header(base, "globex"), claims_v3("globex")).encode()
    expired = acme.sign(header(base, "acme"), claims_v1(base, "acme", exp=NOW - 60)).encode()
    other_client = acme.sign(header(base, "acme"), claims_v3("acme", client_id="someone-else")).encode()
    unknown_kid = acme.sign(header(base, "acme", kid="rotated-away"), claims_v3("acme")).encode()
    other_tenant = ORGS["initech"].sign(header(base, "initech"), claims_v3("initech")).encode()
    hs256 = b".".join(
        [b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()).encode(),
         b64(json.dumps(claims_v1(base, "acme")).encode()).encode(), b"c2lnbmF0dXJl"]
    )
    courses = "/api/v1/courses"
    return [
        ("no header", courses, [], 401, "authorization_header_missing", "authorization_header_missing"),
        ("empty header", courses, [b""], 401, "authorization_header_missing", "authorization_header_missing"),
        ("Basic", courses, [b"Basic dXNlcjpwYXNz"], 401, "invalid_header", "invalid_header"),
        ("Bearer alone", courses, [b"Bearer"], 401, "invalid_header", "invalid_header"),
        ("no-break space", courses, [b"Bearer\xa0" + v1], 401, "invalid_header", "invalid_header"),
        ("two headers", courses, [b"Bearer " + v1, b"Bearer " + v1], 401, "invalid_header", "invalid_header"),
        ("garbage", courses, [b"Bearer garbage"], 401, "invalid_header", "malformed_token"),
        ("HS256", courses, [b"Bearer " + hs256], 401, "invalid_header", "unsupported_algorithm"),
        ("unknown kid", courses, [b"Bearer " + unknown_kid], 401, "no_rsa_key", "unknown_key"),
        ("expired", courses, [b"Bearer " + expired], 401, "token_expired", "token_expired"),
        ("v1", courses, [b"Bearer " + v1], 200, "", None),
        ("v1, scheme in any case", courses, [b"  bEaReR   " + v1 + b" "], 200, "", None),
        ("v3 with its client id", courses, [b"Bearer " + v3], 200, "", None),
        ("v3 of the other organization", courses, [b"Bearer " + v3_globex], 200, "", None),
        ("v3 of another client", courses, [b"Bearer " + other_client], 401, "invalid_claims", "invalid_audience"),
        ("a tenant that is not configured", courses, [b"Bearer " + other_tenant], 401, "invalid_claims", "invalid_issuer"),
        ("wrong scope", "/api/v1/me", [b"Bearer " + v1], 403, "insufficient_scope", "insufficient_scope"),
    ]


def send(port: int, path: str, authorization: List[bytes]) -> Tuple[int, Dict[str, Any], Optional[str]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest("GET", path)
        for value in authorization:
            # Bytes go out as they are: a no-break space stays one byte 0xA0.
            conn.putheader("Authorization", value)
        conn.endheaders()
        response = conn.getresponse()
        body = response.read()
        challenge = response.getheader("WWW-Authenticate")
        try:
            parsed = json.loads(body) if body else {}
        except ValueError:
            parsed = {"unparsed": body[:200].decode("latin-1")}
        return response.status, parsed if isinstance(parsed, dict) else {}, challenge
    finally:
        conn.close()


def test_every_row_gets_the_same_answer_from_flask_and_the_server(
    hosts: Dict[str, int], base_url: str
) -> None:
    problems = []
    for name, path, authorization, status, code, error in table(base_url):
        answers = {host: send(port, path, authorization) for host, port in hosts.items()}
        flask, server = answers["flask"], answers["server"]
        if status == 200:
            got = {host: a[0] for host, a in answers.items()}
            if any(s != 200 for s in got.values()):
                problems.append(f"{name}: expected 200, got {got} {answers}")
            continue
        for host, (got_status, body, challenge) in answers.items():
            if (got_status, body.get("code"), body.get("error")) != (status, code, error):
                problems.append(f"{name} [{host}]: expected {status} {code} {error}, got {got_status} {body}")
            if got_status in (401, 403) and not challenge:
                problems.append(f"{name} [{host}]: no WWW-Authenticate")
        if (flask[0], flask[1].get("code"), flask[1].get("error"), flask[2]) != (
            server[0], server[1].get("code"), server[1].get("error"), server[2]
        ):
            problems.append(f"{name}: the hosts disagree: flask {flask} / server {server}")
    assert not problems, "\n".join(problems)


def test_missing_credentials_get_a_bare_challenge(hosts: Dict[str, int]) -> None:
    for host, port in hosts.items():
        status, _, challenge = send(port, "/api/v1/courses", [])
        assert (status, challenge) == (401, "Bearer"), host
