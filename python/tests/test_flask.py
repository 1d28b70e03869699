"""The tutorial app (examples/flask_app) on cryptr_guard.flask, through Flask's test client and a
real JWKS issuer on 127.0.0.1: every row of SPEC §3 "HTTP mapping", the key-set cache policy as
seen from HTTP, CORS on errors, and no 500 for anything a client can send."""

from __future__ import annotations

import threading
import time
from typing import Any, Dict, List, Optional

import pytest

from cryptr_guard import JwksClient, Validator

from .conftest import AUDIENCE, TENANT, Issuer, Key, closed_port_url

ORIGIN = "https://app.example.com"


def get(app: Any, token: Optional[str] = None, *, header: Optional[str] = None, path: str = "/api/v1/courses") -> Any:
    headers = {"Origin": ORIGIN}
    if header is not None:
        headers["Authorization"] = header
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return app.test_client().get(path, headers=headers)


def assert_error(response: Any, status: int, code: str, error: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["code"] == code
    assert body["error"] == error
    assert isinstance(body["description"], str) and body["description"]
    # CORS headers on errors too, so that a browser app can read them.
    assert response.headers.get("Access-Control-Allow-Origin") in ("*", ORIGIN)
    if status == 401:
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith('Bearer error="invalid_token", error_description="')
        assert challenge.endswith('"')
    if status == 503:
        assert int(response.headers["Retry-After"]) >= 1


def test_valid_token_gets_the_courses(issuer: Issuer, k1: Key, make_app: Any, courses: List[Dict[str, Any]]) -> None:
    issuer.serve(k1)
    app = make_app()
    response = get(app, k1.sign(issuer.claims()))
    assert response.status_code == 200
    assert response.get_json() == courses
    assert response.headers.get("Access-Control-Allow-Origin") in ("*", ORIGIN)
    assert issuer.requests == 1


def test_claims_go_to_g_current_user(issuer: Issuer, k1: Key, make_app: Any) -> None:
    issuer.serve(k1)
    response = get(make_app(), k1.sign(issuer.claims(sub="max")), path="/api/v1/me")
    assert response.status_code == 200
    assert response.get_json() == {"sub": "max"}


HS256_HEADER = "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0"  # {"alg":"HS256","kid":"k1"}


@pytest.mark.parametrize(
    ("case", "code", "error"),
    [
        ("no_header", "authorization_header_missing", "authorization_header_missing"),
        ("basic", "invalid_header", "invalid_header"),
        ("bare_bearer", "invalid_header", "invalid_header"),
        ("two_tokens", "invalid_header", "invalid_header"),
        ("empty_header", "invalid_header", "invalid_header"),
        ("garbage", "invalid_header", "malformed_token"),
        ("hs256", "invalid_header", "unsupported_algorithm"),
        ("bad_signature", "invalid_header", "invalid_signature"),
        ("unknown_kid", "no_rsa_key", "unknown_key"),
        ("expired", "token_expired", "token_expired"),
        ("exp_string", "invalid_claims", "invalid_claim"),
        ("no_exp", "invalid_claims", "missing_claim"),
        ("nbf_future", "invalid_claims", "token_not_yet_valid"),
        ("wrong_issuer", "invalid_claims", "invalid_issuer"),
        ("wrong_audience", "invalid_claims", "invalid_audience"),
    ],
)
def test_every_401_row(issuer: Issuer, k1: Key, k2: Key, make_app: Any, case: str, code: str, error: str) -> None:
    issuer.serve(k1)
    app = make_app()
    now = int(time.time())
    headers = {
        "no_header": None,
        "basic": "Basic dXNlcjpwYXNz",
        "bare_bearer": "Bearer",
        "two_tokens": "Bearer a b",
        "empty_header": "",
        "garbage": "Bearer not-a-token",
        "hs256": f"Bearer {HS256_HEADER}.e30.c2ln",
        "bad_signature": "Bearer " + k2.sign(issuer.claims(), kid="k1"),
        "unknown_kid": "Bearer " + k2.sign(issuer.claims()),
        "expired": "Bearer " + k1.sign(issuer.claims(exp=now - 1)),
        "exp_string": "Bearer " + k1.sign(issuer.claims(exp="tomorrow")),
        "no_exp": "Bearer " + k1.sign(issuer.claims(exp=None)),
        "nbf_future": "Bearer " + k1.sign(issuer.claims(nbf=now + 3600)),
        "wrong_issuer": "Bearer " + k1.sign(issuer.claims(iss="https://evil.example/t/" + TENANT)),
        "wrong_audience": "Bearer " + k1.sign(issuer.claims(aud="https://other.api")),
    }
    response = get(app, header=headers[case])
    assert_error(response, 401, code, error)


def test_issuer_down_at_start_is_503(make_app: Any, k1: Key) -> None:
    app = make_app(CRYPTR_JWKS_URL=closed_port_url() + f"/t/{TENANT}/.well-known")
    response = get(app, k1.sign({"sub": "x"}))
    assert_error(response, 503, "jwks_unavailable", "jwks_unavailable")


def test_issuer_error_status_at_start_is_503(issuer: Issuer, make_app: Any, k1: Key) -> None:
    issuer.status = 500
    response = get(make_app(), k1.sign(issuer.claims()))
    assert_error(response, 503, "jwks_unavailable", "jwks_unavailable")


def test_unusable_jwks_is_503(issuer: Issuer, make_app: Any, k1: Key) -> None:
    issuer.document = b'{"keys": 1}'
    response = get(make_app(), k1.sign(issuer.claims()))
    assert_error(response, 503, "jwks_unavailable", "invalid_jwks")


def test_unknown_kid_refetches_once_then_no_rsa_key(issuer: Issuer, k1: Key, k2: Key, make_app: Any) -> None:
    issuer.serve(k1)
    app = make_app()
    assert get(app, k1.sign(issuer.claims())).status_code == 200
    assert issuer.requests == 1
    stranger = k2.sign(issuer.claims(), kid="nobody")
    assert_error(get(app, stranger), 401, "no_rsa_key", "unknown_key")
    assert issuer.requests == 2  # one refetch...
    assert_error(get(app, stranger), 401, "no_rsa_key", "unknown_key")
    assert issuer.requests == 2  # ...and none more within the cooldown


def test_key_rotation_accepts_the_new_kid_after_one_fetch(issuer: Issuer, k1: Key, k2: Key, make_app: Any) -> None:
    issuer.serve(k1)
    app = make_app()
    assert get(app, k1.sign(issuer.claims())).status_code == 200
    issuer.serve(k2)  # the issuer rotates its key
    response = get(app, k2.sign(issuer.claims()))
    assert response.status_code == 200
    assert issuer.requests == 2
    assert get(app, k2.sign(issuer.claims(sub="again"))).status_code == 200
    assert issuer.requests == 2


def test_issuer_down_after_a_good_fetch_still_serves(issuer: Issuer, k1: Key, k2: Key, make_app: Any) -> None:
    issuer.serve(k1)
    app = make_app()
    assert get(app, k1.sign(issuer.claims())).status_code == 200
    issuer.status = 503  # the issuer goes down
    # An unknown kid makes the client refetch: the fetch fails, the cached set stays in use.
    assert_error(get(app, k2.sign(issuer.claims())), 401, "no_rsa_key", "unknown_key")
    assert issuer.requests == 2
    assert get(app, k1.sign(issuer.claims(sub="later"))).status_code == 200


def test_stale_keys_are_kept_when_the_issuer_is_down(issuer: Issuer, k1: Key) -> None:
    issuer.serve(k1)
    client = JwksClient(issuer.jwks_url, allow_http=True, token_cache_size=0)
    validator = Validator(issuer.issuer, AUDIENCE)
    now = int(time.time())
    token = k1.sign(issuer.claims(exp=now + 10 * 86400))
    assert client.validate(token, validator, now=now)["sub"] == "user-1"
    issuer.status = 503
    # Past its 10-minute freshness the set is stale: a background refresh fails, the set stays.
    later = now + 3600
    assert client.validate(token, validator, now=later)["sub"] == "user-1"
    deadline = time.monotonic() + 5
    while issuer.requests < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert issuer.requests == 2
    assert client.validate(token, validator, now=later + 1)["sub"] == "user-1"
    # Past the 24 h grace, nothing is usable any more.
    from cryptr_guard import JwksUnavailable

    with pytest.raises(JwksUnavailable) as info:
        client.validate(token, validator, now=now + 600 + 86400 + 1000)
    assert info.value.retry_after is not None and info.value.retry_after >= 1


def test_a_burst_of_concurrent_requests_makes_one_fetch(issuer: Issuer, k1: Key, make_app: Any) -> None:
    issuer.serve(k1)
    issuer.delay = 0.3
    app = make_app()
    tokens = [k1.sign(issuer.claims(sub=f"user-{i}")) for i in range(16)]
    statuses: List[int] = []
    lock = threading.Lock()
    start = threading.Barrier(len(tokens))

    def call(token: str) -> None:
        start.wait()
        status = get(app, token).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=call, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert statuses == [200] * len(tokens)
    assert issuer.requests == 1


def test_token_cache_hit_path(issuer: Issuer, k1: Key, make_app: Any) -> None:
    issuer.serve(k1)
    app = make_app()
    guard = app.extensions["cryptr_guard"]
    token = k1.sign(issuer.claims())
    for _ in range(3):
        assert get(app, token).status_code == 200
    stats = guard.jwks.token_cache.stats
    assert stats["misses"] == 1 and stats["hits"] == 2 and stats["size"] == 1
    # A hit still checks the clock.
    from cryptr_guard import TokenExpired

    with pytest.raises(TokenExpired):
        guard.jwks.validate(token, guard.validator, now=int(time.time()) + 7200)


def test_token_cache_can_be_disabled(issuer: Issuer, k1: Key, make_app: Any) -> None:
    issuer.serve(k1)
    app = make_app(CRYPTR_TOKEN_CACHE_SIZE=0)
    token = k1.sign(issuer.claims())
    for _ in range(2):
        assert get(app, token).status_code == 200
    assert app.extensions["cryptr_guard"].jwks.token_cache.stats["hits"] == 0


@pytest.mark.parametrize(
    "header",
    [
        "Bearer \u00e9\u00e9.\u00e9.\u00e9",
        "Bearer " + "a" * 20000,
        "Bearer ..",
        "Bearer a.b.c",
        "bearer  x.y.z",
        "Bearer eyJ.eyJ.x",
        "Bearer e30.e30.e30",
        "\t",
        "Token abc",
    ],
)
def test_never_a_500_for_client_input(issuer: Issuer, k1: Key, make_app: Any, header: str) -> None:
    issuer.serve(k1)
    response = get(make_app(), header=header)
    assert response.status_code == 401
    assert response.get_json()["code"] in ("invalid_header", "no_rsa_key", "authorization_header_missing")


def test_requires_scope(issuer: Issuer, k1: Key, make_app: Any) -> None:
    issuer.serve(k1)
    app = make_app()
    ok_array = k1.sign(issuer.claims(scp=["openid"]))
    ok_string = k1.sign(issuer.claims(scp=None, scope="email openid"))
    lacking = k1.sign(issuer.claims(scp=["email"]))
    assert get(app, ok_array, path="/api/v1/me").status_code == 200
    assert get(app, ok_string, path="/api/v1/me").status_code == 200
    response = get(app, lacking, path="/api/v1/me")
    assert response.status_code == 403
    assert response.get_json()["code"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert get(app, path="/api/v1/me").status_code == 401


def test_https_only_unless_allowed(issuer: Issuer) -> None:
    with pytest.raises(ValueError):
        JwksClient(issuer.jwks_url)
    with pytest.raises(ValueError):
        JwksClient("ftp://example.com/jwks", allow_http=True)
    assert JwksClient("https://example.com/jwks").jwks_uri == "https://example.com/jwks"


def test_body_size_limit(issuer: Issuer, k1: Key) -> None:
    issuer.serve(k1)
    client = JwksClient(issuer.jwks_url, allow_http=True, max_bytes=64)
    from cryptr_guard import JwksUnavailable

    with pytest.raises(JwksUnavailable):
        client.keys()
    assert issuer.requests == 1


def test_missing_configuration_fails_at_startup() -> None:
    from flask import Flask

    from cryptr_guard.flask import CryptrGuard

    app = Flask("x")
    app.config["CRYPTR_BASE_URL"] = "https://auth.example.com"
    with pytest.raises(ValueError, match="CRYPTR_TENANT_DOMAIN"):
        CryptrGuard(app)


def test_audiences_list_and_leeway_from_config(issuer: Issuer, k1: Key, make_app: Any) -> None:
    issuer.serve(k1)
    app = make_app(CRYPTR_AUDIENCES=["https://second.api"], CRYPTR_LEEWAY=30)
    now = int(time.time())
    assert get(app, k1.sign(issuer.claims(aud="https://second.api"))).status_code == 200
    assert get(app, k1.sign(issuer.claims(sub="a"))).status_code == 200
    assert get(app, k1.sign(issuer.claims(exp=now - 5))).status_code == 200  # within the leeway
    assert_error(get(app, k1.sign(issuer.claims(exp=now - 60))), 401, "token_expired", "token_expired")


def test_cross_origin_decorator_also_sees_errors(issuer: Issuer, k1: Key) -> None:
    from flask import Flask, jsonify
    from flask_cors import cross_origin

    from cryptr_guard.flask import CryptrGuard
    from cryptr_guard.flask import requires_auth as guard_required

    issuer.serve(k1)
    app = Flask("decorated")
    app.config.update(
        CRYPTR_BASE_URL=issuer.base_url, CRYPTR_TENANT_DOMAIN=TENANT, CRYPTR_AUDIENCE=AUDIENCE, CRYPTR_ALLOW_HTTP=True
    )
    CryptrGuard(app)

    @app.route("/api/v1/courses")
    @cross_origin(headers=["Content-Type", "Authorization"])
    @guard_required
    def courses() -> Any:
        return jsonify([])

    assert_error(get(app), 401, "authorization_header_missing", "authorization_header_missing")
    assert get(app, k1.sign(issuer.claims())).status_code == 200


def test_views_still_go_through_the_apps_ensure_sync(issuer: Issuer, k1: Key) -> None:
    """The decorators call a plain view directly only when ``ensure_sync`` is Flask's own: an app
    that overrides it (or a coroutine view) still gets its ``ensure_sync``."""
    import asyncio
    import inspect

    from flask import Flask, g, jsonify

    from cryptr_guard.flask import CryptrGuard, requires_auth, requires_scope

    seen: List[str] = []

    class App(Flask):
        def ensure_sync(self, func: Any) -> Any:
            seen.append(func.__name__)
            if inspect.iscoroutinefunction(func):
                return lambda *a, **k: asyncio.run(func(*a, **k))
            return func

    issuer.serve(k1)
    app = App("ensure_sync")
    app.config.update(
        CRYPTR_BASE_URL=issuer.base_url, CRYPTR_TENANT_DOMAIN=TENANT, CRYPTR_AUDIENCE=AUDIENCE, CRYPTR_ALLOW_HTTP=True
    )
    guard = CryptrGuard(app)

    @app.route("/api/v1/courses")
    @requires_auth
    async def courses() -> Any:
        return jsonify({"sub": g.current_user["sub"]})

    @app.route("/api/v1/own")
    @guard.requires_auth
    def own() -> Any:
        return jsonify({"sub": g.current_user["sub"]})

    @app.route("/api/v1/me")
    @requires_scope("openid")
    async def me() -> Any:
        return jsonify({"sub": g.current_user["sub"]})

    token = k1.sign(issuer.claims(sub="max", scp=["openid"]))
    for path in ("/api/v1/courses", "/api/v1/own", "/api/v1/me"):
        response = app.test_client().get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, path
        assert response.get_json() == {"sub": "max"}
    # Flask's dispatch calls ensure_sync on the decorated function, the decorator on the view.
    assert seen.count("courses") == 2 and seen.count("own") == 2 and seen.count("me") == 2
