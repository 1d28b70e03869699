"""cryptr_guard.fastapi and cryptr_guard.starlette through httpx's ASGI transport and a real JWKS
issuer on 127.0.0.1: the core's answers (compared with the guard's own, in process), scopes,
several requests on a cold start sharing one fetch, the Starlette middleware backend, the async
JWKS client against misbehaving servers, and a real uvicorn whose event loop keeps serving while
an issuer never answers."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import httpx
import pytest
from fastapi import Depends, FastAPI, Security
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from cryptr_guard import AsyncJwksClient, CryptrGuardError, Guard, SettingError, Verified
from cryptr_guard._host import Host
from cryptr_guard.fastapi import CryptrGuard
from cryptr_guard.starlette import CryptrAuthBackend, requires

from .conftest import AUDIENCE, CLIENT_ID, MISBEHAVING, OTHER_TENANT, TENANT, Issuer, Key, RawServer, closed_port_url


def settings(issuer: Issuer, **overrides: Any) -> Dict[str, Any]:
    values: Dict[str, Any] = {
        "CRYPTR_BASE_URL": issuer.base_url,
        "CRYPTR_TENANT_DOMAIN": [TENANT, OTHER_TENANT],
        "CRYPTR_AUDIENCE": AUDIENCE,
        "CRYPTR_CLIENT_IDS": CLIENT_ID,
        "CRYPTR_ALLOW_HTTP": True,
        "CRYPTR_JWKS_TIMEOUT": 2,
    }
    values.update(overrides)
    return values


def fastapi_app(issuer: Issuer, *, install: bool = True, **overrides: Any) -> FastAPI:
    app = FastAPI()
    guard = CryptrGuard(app if install else None, settings=settings(issuer, **overrides))

    @app.get("/api/v1/courses")
    async def courses(token: Verified = Depends(guard)) -> Dict[str, Any]:
        return {"sub": token.claims["sub"], "tenant": token.tenant, "scopes": token.scopes}

    @app.get("/api/v1/admin")
    async def admin(token: Verified = Security(guard, scopes=["admin"])) -> Dict[str, Any]:
        return {"sub": token.claims["sub"]}

    @app.get("/api/v1/public")
    def public() -> Dict[str, str]:
        return {"ok": "yes"}

    app.state.guard = guard
    return app


def get(app: Any, header: Optional[str] = None, path: str = "/api/v1/courses") -> httpx.Response:
    headers = {} if header is None else {"Authorization": header}

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path, headers=headers)

    return asyncio.run(call())


def expected(issuer: Issuer, header: Optional[str]) -> Dict[str, Any]:
    """The core's own answer to ``header``, from a guard in this process."""
    guard = Guard(settings(issuer))
    with pytest.raises(CryptrGuardError) as info:
        guard.authenticate(header)
    answer = info.value.answer
    assert answer is not None
    return {"status": answer.status, "body": json.loads(answer.body), "headers": dict(answer.headers)}


def assert_answer(response: httpx.Response, want: Dict[str, Any]) -> None:
    assert response.status_code == want["status"], response.text
    assert response.json() == want["body"]
    for name, value in want["headers"].items():
        if name == "Retry-After":
            assert int(response.headers[name]) >= 1
        else:
            assert response.headers[name] == value, name
    if want["status"] != 503:
        assert "Retry-After" not in response.headers


def test_v1_and_v3_tokens(issuer: Issuer, k1: Key, k2: Key) -> None:
    issuer.serve(k1)
    issuer.serve(k2, tenant=OTHER_TENANT)
    app = fastapi_app(issuer)
    response = get(app, "Bearer " + k1.sign(issuer.claims(sub="max")))
    assert response.status_code == 200
    assert response.json() == {"sub": "max", "tenant": TENANT, "scopes": ["openid", "email"]}
    v3 = k2.sign(issuer.v3_claims(OTHER_TENANT), headers={"iss": issuer.issuer_of(OTHER_TENANT)})
    response = get(app, "Bearer " + v3)
    assert response.status_code == 200
    assert response.json()["tenant"] == OTHER_TENANT


@pytest.mark.parametrize(
    "case", ["none", "empty", "basic", "bare", "garbage", "expired", "audience", "unknown_kid", "signature"]
)
def test_refusals_are_the_cores_answer(issuer: Issuer, k1: Key, k2: Key, case: str) -> None:
    issuer.serve(k1)
    now = int(time.time())
    header = {
        "none": None,
        "empty": "",
        "basic": "Basic dXNlcjpwYXNz",
        "bare": "Bearer",
        "garbage": "Bearer not-a-token",
        "expired": "Bearer " + k1.sign(issuer.claims(iat=now - 7200, exp=now - 3600)),
        "audience": "Bearer " + k1.sign(issuer.claims(aud="https://other.example.com")),
        "unknown_kid": "Bearer " + k2.sign(issuer.claims()),
        "signature": "Bearer " + k2.sign(issuer.claims(), kid="k1"),
    }[case]
    want = expected(issuer, header)
    assert_answer(get(fastapi_app(issuer), header), want)
    assert want["status"] == 401


def test_scopes_by_the_cores_rule(issuer: Issuer, k1: Key) -> None:
    issuer.serve(k1)
    app = fastapi_app(issuer)
    response = get(app, "Bearer " + k1.sign(issuer.claims()), "/api/v1/admin")
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    assert response.headers["WWW-Authenticate"] == (
        'Bearer error="insufficient_scope", error_description="the token lacks a required scope", scope="admin"'
    )
    admin = k1.sign(issuer.claims(scp=["openid", "admin"]))
    assert get(app, "Bearer " + admin, "/api/v1/admin").status_code == 200
    assert get(app, None, "/api/v1/admin").status_code == 401


def test_issuer_down_is_503_with_retry_after(issuer: Issuer, k1: Key) -> None:
    down = closed_port_url()
    app = fastapi_app(issuer, CRYPTR_BASE_URL=down)
    response = get(app, "Bearer " + k1.sign(issuer.claims(iss=f"{down}/t/{TENANT}")))
    assert response.status_code == 503
    assert response.json()["error"] == "jwks_unavailable"
    assert int(response.headers["Retry-After"]) >= 1
    assert "WWW-Authenticate" not in response.headers


def test_without_the_handler_status_and_headers_still_hold(issuer: Issuer) -> None:
    response = get(fastapi_app(issuer, install=False), "Bearer not-a-token")
    assert response.status_code == 401
    assert response.json()["detail"]["error"] == "malformed_token"
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


def test_settings_from_keywords_and_errors(issuer: Issuer, k1: Key, monkeypatch: pytest.MonkeyPatch) -> None:
    issuer.serve(k1)
    guard = CryptrGuard(base_url=issuer.base_url, tenant_domain=TENANT, audience=AUDIENCE, allow_http=True)
    assert guard.guard.validator.audiences == [AUDIENCE]
    with pytest.raises(TypeError, match="not a cryptr_guard setting"):
        CryptrGuard(base_url=issuer.base_url, audiense=AUDIENCE)
    with pytest.raises(SettingError) as info:
        CryptrGuard(settings=settings(issuer, CRYPTR_LEEWAY="soon"))
    assert info.value.key == "CRYPTR_LEEWAY"
    for name in [n for n in os.environ if n.startswith("CRYPTR_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CRYPTR_ISSUER", issuer.issuer)
    monkeypatch.setenv("CRYPTR_JWKS_URL", issuer.jwks_url)
    monkeypatch.setenv("CRYPTR_AUDIENCE", AUDIENCE)
    monkeypatch.setenv("CRYPTR_ALLOW_HTTP", "1")
    assert CryptrGuard().guard.validator.issuers == [issuer.issuer]


def test_a_cold_start_burst_shares_one_fetch(issuer: Issuer, k1: Key) -> None:
    issuer.serve(k1)
    issuer.delay = 0.3
    app = fastapi_app(issuer)
    token = k1.sign(issuer.claims())

    async def burst() -> List[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            responses = await asyncio.gather(
                *(client.get("/api/v1/courses", headers={"Authorization": f"Bearer {token}"}) for _ in range(8))
            )
        return [r.status_code for r in responses]

    assert asyncio.run(burst()) == [200] * 8
    assert issuer.requests == 1


def test_a_stale_set_is_refreshed_by_a_background_task(issuer: Issuer, k1: Key) -> None:
    issuer.serve(k1)
    host = Host(settings(issuer))
    header = "Bearer " + k1.sign(issuer.claims())

    async def run() -> None:
        now = int(time.time())
        first = host.guard.begin(header, now=now)
        assert not isinstance(first, Verified)
        assert first.fetch is not None and not first.fetch.background
        assert isinstance(await host.finish(first), Verified)
        later = host.guard.begin(header, now=now + 700)  # stale: answered, refreshed behind
        assert not isinstance(later, Verified)
        assert later.fetch is not None and later.fetch.background
        assert isinstance(await host.finish(later), Verified)
        for _ in range(100):
            if issuer.requests == 2:
                break
            await asyncio.sleep(0.01)

    asyncio.run(run())
    assert issuer.requests == 2


def test_a_dropped_fetch_job_is_a_failed_fetch(issuer: Issuer, k1: Key) -> None:
    issuer.serve(k1)
    guard = Guard(settings(issuer))
    step = guard.begin("Bearer " + k1.sign(issuer.claims()))
    assert not isinstance(step, Verified)
    del step
    assert guard.issuers()[0]["consecutive_failures"] == 1
    assert guard.issuers()[0]["fetch_in_flight"] is False
    assert issuer.requests == 0


def test_due_fetches_warm_up_on_the_loop(issuer: Issuer, k1: Key, k2: Key) -> None:
    issuer.serve(k1)
    issuer.serve(k2, tenant=OTHER_TENANT)
    guard = CryptrGuard(settings=settings(issuer))
    reports = asyncio.run(guard.fetch_due())
    assert sorted(r["outcome"] for r in reports) == ["ok", "ok"]
    assert guard.guard.is_ready()


def starlette_app(issuer: Issuer) -> Starlette:
    backend = CryptrAuthBackend(settings(issuer))

    @requires()
    async def courses(request: Request) -> JSONResponse:
        return JSONResponse({"sub": request.user.token.claims["sub"], "scopes": list(request.auth.scopes)})

    @requires("admin")
    def admin(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    async def public(request: Request) -> JSONResponse:
        return JSONResponse({"user": request.user.is_authenticated})

    routes = [Route("/api/v1/courses", courses), Route("/api/v1/admin", admin), Route("/api/v1/public", public)]
    middleware = [Middleware(AuthenticationMiddleware, backend=backend, on_error=backend.on_error)]
    return Starlette(routes=routes, middleware=middleware)


def test_starlette_backend(issuer: Issuer, k1: Key) -> None:
    issuer.serve(k1)
    app = starlette_app(issuer)
    token = k1.sign(issuer.claims())
    response = get(app, f"Bearer {token}")
    assert response.status_code == 200
    assert response.json() == {"sub": "user-1", "scopes": ["authenticated", "openid", "email"]}
    assert_answer(get(app, None), expected(issuer, None))
    assert_answer(get(app, "Bearer not-a-token"), expected(issuer, "Bearer not-a-token"))
    assert get(app, None, "/api/v1/public").json() == {"user": False}
    response = get(app, f"Bearer {token}", "/api/v1/admin")
    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"].endswith('scope="admin"')


# -- AsyncJwksClient ----------------------------------------------------------------------------


def fetch(url: str, timeout: float = 2, max_bytes: int = 1 << 20) -> Any:
    return asyncio.run(AsyncJwksClient().fetch(url, timeout, max_bytes))


def test_async_client_fetches(issuer: Issuer, k1: Key) -> None:
    issuer.serve(k1)
    issuer.cache_control = "max-age=60"
    assert fetch(issuer.jwks_url) == (200, "max-age=60", issuer.document)
    assert fetch(issuer.jwks_url, max_bytes=10) == "too_large"
    assert fetch(issuer.base_url + "/nothing") == (404, "max-age=60", b"")
    assert fetch(closed_port_url()) == "network"
    assert fetch("ftp://example.com/jwks") == "network"


def _chunked(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"k\"\r\n5;x=1\r\n: 1}\n\r\n0\r\n\r\n")


def _redirect(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/\r\nContent-Length: 0\r\n\r\n")


def _drip(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
    for _ in range(100):
        conn.sendall(b" ")
        time.sleep(0.3)


def _until_close(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 70000)


def test_async_client_reads_the_wire(raw_server: Any) -> None:
    assert fetch(raw_server(_chunked).base_url) == (200, None, b'{"k": 1}\n')
    assert fetch(raw_server(_redirect).base_url) == (302, None, b"")
    assert fetch(raw_server(_until_close).base_url) == (200, None, b"x" * 70000)
    assert fetch(raw_server(_until_close).base_url, max_bytes=1000) == "too_large"
    start = time.monotonic()
    assert fetch(raw_server(_drip).base_url, timeout=1) == "timeout"
    assert time.monotonic() - start < 1.5


@pytest.mark.parametrize("name", sorted(MISBEHAVING))
def test_async_client_misbehaving_endpoints_are_failed_fetches(raw_server: Any, name: str) -> None:
    server: RawServer = raw_server(MISBEHAVING[name])
    assert fetch(server.base_url) == "network"


# -- A real server: the event loop is never blocked by a JWKS fetch ------------------------------

APP = Path(__file__).resolve().parent / "fastapi_loop_app.py"


@pytest.fixture
def hanging_issuer() -> Iterator[str]:
    """An issuer that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: List[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()
        for conn in held:
            conn.close()


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def test_uvicorn_keeps_serving_while_the_issuer_hangs(hanging_issuer: str, k1: Key) -> None:
    port = free_port()
    env = dict(os.environ)
    env.update(
        CRYPTR_BASE_URL=hanging_issuer,
        CRYPTR_TENANT_DOMAIN=TENANT,
        CRYPTR_AUDIENCE=AUDIENCE,
        CRYPTR_ALLOW_HTTP="true",
        CRYPTR_JWKS_TIMEOUT="3",
        PYTHONPATH=str(APP.parent),
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "fastapi_loop_app:app", "--port", str(port), "--workers", "1", "--log-level", "warning"],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            for _ in range(200):
                try:
                    client.get("/api/v1/public")
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            token = k1.sign({"iss": f"{hanging_issuer}/t/{TENANT}", "aud": AUDIENCE, "sub": "u", "exp": int(time.time()) + 600})
            protected: Dict[str, Any] = {}

            def call() -> None:
                start = time.monotonic()
                with httpx.Client(base_url=base, timeout=10) as other:
                    response = other.get("/api/v1/courses", headers={"Authorization": f"Bearer {token}"})
                protected.update(status=response.status_code, seconds=time.monotonic() - start)

            waiting = threading.Thread(target=call)
            waiting.start()
            time.sleep(0.3)  # the protected request is now waiting on the hanging fetch
            latencies = []
            while waiting.is_alive() and len(latencies) < 20:
                start = time.monotonic()
                assert client.get("/api/v1/public").status_code == 200
                latencies.append(time.monotonic() - start)
                time.sleep(0.05)
            assert waiting.is_alive(), "the protected request should still be waiting for the fetch"
            waiting.join()
        assert protected["status"] == 503
        assert protected["seconds"] >= 2.5
        assert len(latencies) == 20
        assert max(latencies) < 0.1, latencies
    finally:
        server.terminate()
        server.wait(10)
