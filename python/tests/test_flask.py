"""The tutorial app (examples/flask_app) on cryptr_guard.flask, through Flask's test client and a
real JWKS issuer on 127.0.0.1: every row of SPEC §3 "HTTP mapping", the key-set cache policy as
seen from HTTP, CORS on errors, v3 tokens and several tenants, settings checked at start-up, and
no 500 for anything a client (or a misbehaving JWKS endpoint) can send."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any, Callable, Dict, List, Optional

import pytest

from cryptr_guard import SettingError
from cryptr_guard.flask import current_guard

from .conftest import (
    AUDIENCE,
    CLIENT_ID,
    MISBEHAVING,
    OTHER_TENANT,
    TENANT,
    Issuer,
    Key,
    RawServer,
    closed_port_url,
)

ORIGIN = "https://app.example.com"


def get(app: Any, token: Optional[str] = None, *, header: Optional[str] = None, path: str = "/api/v1/courses") -> Any:
    headers = {"Origin": ORIGIN}
    if header is not None:
        headers["Authorization"] = header
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return app.test_client().get(path, headers=headers)


def assert_error(response: Any, status: int, code: str, error: str, *, cors: bool = True) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["code"] == code
    assert body["error"] == error
    assert isinstance(body["description"], str) and body["description"]
    if cors:  # CORS headers on errors too, so that a browser app can read them.
        assert response.headers.get("Access-Control-Allow-Origin") in ("*", ORIGIN)
    assert response.headers["Content-Type"] == "application/json"
    if status == 401 and error == "authorization_header_missing":
        # RFC 6750 §3.1: no error code in the challenge of a request without credentials.
        assert response.headers["WWW-Authenticate"] == "Bearer"
    elif status == 401:
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith('Bearer error="invalid_token", error_description="')
        assert challenge.endswith('"')
    if status == 503:
        assert int(response.headers["Retry-After"]) >= 1
        assert "WWW-Authenticate" not in response.headers


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
        ("no_break_space", "invalid_header", "invalid_header"),
        ("tab", "invalid_header", "invalid_header"),
        ("empty_header", "authorization_header_missing", "authorization_header_missing"),
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
        # The Bearer rule separates with ASCII spaces only (a valid token behind another space).
        "no_break_space": "Bearer\u00a0" + k1.sign(issuer.claims()),
        "tab": "Bearer\t" + k1.sign(issuer.claims()),
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
    base_url = closed_port_url()
    app = make_app(CRYPTR_BASE_URL=base_url)
    token = k1.sign({"iss": f"{base_url}/t/{TENANT}", "aud": AUDIENCE, "exp": int(time.time()) + 60})
    assert_error(get(app, token), 503, "jwks_unavailable", "jwks_unavailable")


def test_issuer_error_status_at_start_is_503(issuer: Issuer, make_app: Any, k1: Key) -> None:
    issuer.status = 500
    response = get(make_app(), k1.sign(issuer.claims()))
    assert_error(response, 503, "jwks_unavailable", "jwks_unavailable")


def test_unusable_jwks_is_503(issuer: Issuer, make_app: Any, k1: Key) -> None:
    issuer.document = b'{"keys": 1}'
    response = get(make_app(), k1.sign(issuer.claims()))
    assert_error(response, 503, "jwks_unavailable", "jwks_unavailable")


def test_a_key_set_without_usable_key_is_503_and_not_ready(issuer: Issuer, make_app: Any, k1: Key) -> None:
    issuer.document = b'{"keys": [{"kty": "EC", "kid": "ec"}]}'
    app = make_app()
    assert_error(get(app, k1.sign(issuer.claims())), 503, "jwks_unavailable", "jwks_unavailable")
    assert current_guard(app).is_ready() is False


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


def test_stale_keys_are_kept_when_the_issuer_is_down(issuer: Issuer, k1: Key, make_app: Any) -> None:
    from cryptr_guard import JwksUnavailable

    issuer.serve(k1)
    guard = current_guard(make_app(CRYPTR_TOKEN_CACHE_SIZE=0))
    now = int(time.time())
    token = k1.sign(issuer.claims(exp=now + 10 * 86400))
    assert guard.validate(token, now=now)["sub"] == "user-1"
    issuer.status = 503
    # Past its 10-minute freshness the set is stale: a background refresh fails, the set stays.
    later = now + 3600
    assert guard.validate(token, now=later)["sub"] == "user-1"
    deadline = time.monotonic() + 5
    while issuer.requests < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert issuer.requests == 2
    assert guard.validate(token, now=later + 1)["sub"] == "user-1"
    # Past the 24 h grace, nothing is usable any more.
    with pytest.raises(JwksUnavailable) as info:
        guard.validate(token, now=now + 600 + 86400 + 1000)
    assert info.value.retry_after is not None and info.value.retry_after >= 1
    assert info.value.answer is not None and info.value.answer.status == 503


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
    guard = current_guard(app)
    token = k1.sign(issuer.claims())
    for _ in range(3):
        assert get(app, token).status_code == 200
    stats = guard.issuers()[0]
    assert stats["token_cache_misses"] == 1 and stats["token_cache_hits"] == 2 and stats["cached_tokens"] == 1
    # A hit still checks the clock.
    from cryptr_guard import TokenExpired

    with pytest.raises(TokenExpired):
        guard.validate(token, now=int(time.time()) + 7200)


def test_token_cache_can_be_disabled(issuer: Issuer, k1: Key, make_app: Any) -> None:
    issuer.serve(k1)
    app = make_app(CRYPTR_TOKEN_CACHE_SIZE=0)
    token = k1.sign(issuer.claims())
    for _ in range(2):
        assert get(app, token).status_code == 200
    assert current_guard(app).issuers()[0]["token_cache_hits"] == 0


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
    app = make_app(CRYPTR_CLIENT_IDS=CLIENT_ID)
    ok_array = k1.sign(issuer.claims(scp=["openid"]))
    ok_string = k1.sign(issuer.claims(scp=None, scope="email openid"))
    ok_v1_string = k1.sign(issuer.claims(scp="email  openid"))
    ok_v3 = v3_token(issuer, k1)
    lacking = k1.sign(issuer.claims(scp=["email"]))
    lacking_v3 = v3_token(issuer, k1, scope=["email"])
    for token in (ok_array, ok_string, ok_v1_string, ok_v3):
        assert get(app, token, path="/api/v1/me").status_code == 200
    assert get(app, lacking_v3, path="/api/v1/me").status_code == 403
    response = get(app, lacking, path="/api/v1/me")
    assert response.status_code == 403
    assert response.get_json()["code"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert get(app, path="/api/v1/me").status_code == 401


def test_https_only_unless_allowed(issuer: Issuer, make_app: Any) -> None:
    with pytest.raises(SettingError) as info:
        make_app(CRYPTR_ALLOW_HTTP=None)
    assert info.value.key == "CRYPTR_BASE_URL" and "http" in info.value.problem


def test_body_size_limit(issuer: Issuer, k1: Key, make_app: Any) -> None:
    issuer.serve(k1)
    app = make_app(CRYPTR_JWKS_MAX_BYTES=64)
    assert_error(get(app, k1.sign(issuer.claims())), 503, "jwks_unavailable", "jwks_unavailable")
    assert issuer.requests == 1


def test_missing_configuration_fails_at_startup() -> None:
    from flask import Flask

    from cryptr_guard.flask import CryptrGuard

    app = Flask("x")
    app.config["CRYPTR_BASE_URL"] = "https://auth.example.com"
    with pytest.raises(SettingError, match="CRYPTR_TENANT_DOMAIN") as info:
        CryptrGuard(app)
    assert isinstance(info.value, ValueError) and info.value.key == "CRYPTR_TENANT_DOMAIN"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("CRYPTR_LEEWAY", "abc"),
        ("CRYPTR_LEEWAY", -5),
        ("CRYPTR_LEEWAY", "-5"),
        ("CRYPTR_LEEWAY", 1.5),
        ("CRYPTR_ALLOW_HTTP", "maybe"),
        ("CRYPTR_JWKS_TIMEOUT", 0),
        ("CRYPTR_JWKS_TIMEOUT", "5s"),
        ("CRYPTR_TOKEN_CACHE_SIZE", "lots"),
        ("CRYPTR_PROFILE", "oidc"),
        ("CRYPTR_MAX_LIFETIME", 0),
        ("CRYPTR_TENANT_DOMAIN", "shark academy"),
        ("CRYPTR_MIN_RSA_BITS", 512),
    ],
)
def test_every_setting_is_checked_at_startup_with_a_sentence_naming_it(
    issuer: Issuer, make_app: Any, key: str, value: Any
) -> None:
    with pytest.raises(SettingError) as info:
        make_app(**{key: value})
    assert info.value.key == key
    assert str(info.value).startswith(f"{key}: ") and len(info.value.problem.split()) >= 3
    if len(str(value)) > 3:
        assert str(value) not in info.value.problem  # the value is not echoed


def test_the_examples_config_hands_the_environment_to_the_core(
    issuer: Issuer, make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """config.py used to int() CRYPTR_LEEWAY ("invalid literal for int()") and read
    CRYPTR_ALLOW_HTTP by truthiness: the text now goes to the core as it is."""
    import importlib

    import config  # examples/flask_app/config.py

    for name, value in (("CRYPTR_LEEWAY", "abc"), ("CRYPTR_ALLOW_HTTP", "maybe"), ("CRYPTR_LEEWAY", "-5")):
        monkeypatch.setenv(name, value)
        importlib.reload(config)
        try:
            with pytest.raises(SettingError) as info:
                make_app(**{name: getattr(config, name)})
            assert info.value.key == name
        finally:
            monkeypatch.delenv(name)
            delattr(config, name)
    monkeypatch.setenv("CRYPTR_LEEWAY", "30")
    importlib.reload(config)
    try:
        assert current_guard(make_app(CRYPTR_LEEWAY=config.CRYPTR_LEEWAY)).validator.leeway == 30
    finally:
        monkeypatch.delenv("CRYPTR_LEEWAY")
        delattr(config, "CRYPTR_LEEWAY")


def test_a_trailing_slash_on_the_base_url_gives_the_same_issuer(issuer: Issuer, k1: Key, make_app: Any) -> None:
    issuer.serve(k1)
    app = make_app(CRYPTR_BASE_URL=issuer.base_url + "/")
    assert current_guard(app).validator.issuers == [issuer.issuer]
    assert get(app, k1.sign(issuer.claims())).status_code == 200
    assert issuer.paths == [f"/t/{TENANT}/.well-known"]


def test_audience_list_and_leeway_from_config(issuer: Issuer, k1: Key, make_app: Any) -> None:
    issuer.serve(k1)
    app = make_app(CRYPTR_AUDIENCE=[AUDIENCE, "https://second.api"], CRYPTR_LEEWAY=30)
    now = int(time.time())
    assert get(app, k1.sign(issuer.claims(aud="https://second.api"))).status_code == 200
    assert get(app, k1.sign(issuer.claims(sub="a"))).status_code == 200
    assert get(app, k1.sign(issuer.claims(exp=now - 5))).status_code == 200  # within the leeway
    assert_error(get(app, k1.sign(issuer.claims(exp=now - 60))), 401, "token_expired", "token_expired")


def test_the_cryptr_profile_by_default(issuer: Issuer, k1: Key, make_app: Any) -> None:
    issuer.serve(k1)
    app = make_app()
    validator = current_guard(app).validator
    assert validator.profile == "cryptr" and validator.max_lifetime == 30 * 86400
    # An exp written in milliseconds is refused, not trusted for decades.
    millis = k1.sign(issuer.claims(exp=int(time.time()) * 1000))
    assert_error(get(app, millis), 401, "invalid_claims", "invalid_claim")
    # An ID token is not an access token.
    id_token = k1.sign(issuer.claims(jtt="openid"))
    assert_error(get(app, id_token), 401, "invalid_claims", "invalid_claim")
    assert get(make_app(CRYPTR_PROFILE="rfc"), id_token).status_code == 200


def v3_token(issuer: Issuer, key: Key, tenant: str = TENANT, **overrides: Any) -> str:
    return key.sign(issuer.v3_claims(tenant, **overrides), headers={"iss": issuer.issuer_of(tenant), "typ": "JWT"})


def test_v3_tokens_are_accepted_by_client_id(issuer: Issuer, k1: Key, make_app: Any) -> None:
    issuer.serve(k1)
    app = make_app(CRYPTR_CLIENT_IDS=CLIENT_ID)
    seen: Dict[str, Any] = {}

    from flask import g, jsonify

    from cryptr_guard.flask import requires_auth

    @app.route("/api/v1/whoami")
    @requires_auth
    def whoami() -> Any:
        seen["claims"] = g.current_user
        token = g.cryptr_token
        return jsonify(issuer=token.issuer, client_id=token.client_id, tenant=token.tenant, scopes=token.scopes)

    response = get(app, v3_token(issuer, k1), path="/api/v1/whoami")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {
        "issuer": issuer.issuer,
        "client_id": CLIENT_ID,
        "tenant": TENANT,
        "scopes": ["openid", "email", "profile"],
    }
    assert seen["claims"]["sub"] == "user-3" and "iss" not in seen["claims"]
    # v1 tokens keep working beside them, with the same derived values.
    response = get(app, k1.sign(issuer.claims()), path="/api/v1/whoami")
    assert response.get_json() == {
        "issuer": issuer.issuer,
        "client_id": "client-1",
        "tenant": TENANT,
        "scopes": ["openid", "email"],
    }
    # Another client's v3 token is refused.
    other = v3_token(issuer, k1, client_id="someone-else")
    assert_error(get(app, other), 401, "invalid_claims", "invalid_audience")


def test_a_v3_token_without_client_ids_names_the_setting(issuer: Issuer, k1: Key, make_app: Any) -> None:
    issuer.serve(k1)
    response = get(make_app(), v3_token(issuer, k1))
    assert_error(response, 401, "invalid_claims", "invalid_audience")
    assert "CRYPTR_CLIENT_IDS" in response.get_json()["description"]
    assert "CRYPTR_CLIENT_IDS" in response.headers["WWW-Authenticate"]


def test_several_tenants_each_with_its_own_key_set(issuer: Issuer, k1: Key, k2: Key, make_app: Any) -> None:
    issuer.serve(k1, tenant=TENANT)
    issuer.serve(k2, tenant=OTHER_TENANT)
    app = make_app(CRYPTR_TENANT_DOMAIN=f"{TENANT}, {OTHER_TENANT}", CRYPTR_CLIENT_IDS=[CLIENT_ID])
    assert [row["issuer"] for row in current_guard(app).issuers()] == [
        issuer.issuer_of(TENANT),
        issuer.issuer_of(OTHER_TENANT),
    ]
    assert get(app, v3_token(issuer, k1, TENANT)).status_code == 200
    assert issuer.paths == [f"/t/{TENANT}/.well-known"]
    assert get(app, v3_token(issuer, k2, OTHER_TENANT)).status_code == 200
    assert issuer.paths == [f"/t/{TENANT}/.well-known", f"/t/{OTHER_TENANT}/.well-known"]
    # A v1 token of the second tenant, chosen by its payload iss.
    v1 = k2.sign(issuer.claims(iss=issuer.issuer_of(OTHER_TENANT), tnt=OTHER_TENANT))
    assert get(app, v1).status_code == 200
    # A token claiming the second tenant, signed with the first tenant's key: checked against the
    # second tenant's key set only (the unknown kid earns one refetch of that set).
    forged = v3_token(issuer, k1, OTHER_TENANT)
    assert_error(get(app, forged), 401, "no_rsa_key", "unknown_key")
    assert issuer.paths[-1] == f"/t/{OTHER_TENANT}/.well-known"
    # A tenant not configured is refused before any fetch.
    requests = issuer.requests
    stranger = v3_token(issuer, k1, "not-configured")
    assert_error(get(app, stranger), 401, "invalid_claims", "invalid_issuer")
    assert issuer.requests == requests
    assert current_guard(app).is_ready()


def test_two_apps_in_one_process_keep_their_own_guard(issuer: Issuer, k1: Key) -> None:
    from flask import Flask, jsonify

    from cryptr_guard.flask import CryptrGuard

    issuer.serve(k1)
    extension = CryptrGuard()
    apps = []
    for audience in ("https://first.api", "https://second.api"):
        app = Flask(audience)
        app.config.update(
            CRYPTR_BASE_URL=issuer.base_url, CRYPTR_TENANT_DOMAIN=TENANT, CRYPTR_AUDIENCE=audience, CRYPTR_ALLOW_HTTP=True
        )
        extension.init_app(app)

        @app.route("/api/v1/courses")
        @extension.requires_auth
        def courses() -> Any:
            return jsonify([])

        apps.append(app)
    first, second = apps
    assert current_guard(first) is not current_guard(second)
    for_first = k1.sign(issuer.claims(aud="https://first.api"))
    assert get(first, for_first).status_code == 200
    assert_error(get(second, for_first), 401, "invalid_claims", "invalid_audience", cors=False)
    assert get(second, k1.sign(issuer.claims(aud="https://second.api"))).status_code == 200


def test_requires_auth_without_init_app_says_so() -> None:
    from flask import Flask

    from cryptr_guard.flask import requires_auth

    app = Flask("bare")

    @app.route("/")
    @requires_auth
    def index() -> Any:
        return ""

    with app.test_request_context("/"), pytest.raises(RuntimeError, match="init_app"):
        index()


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


# -- a misbehaving JWKS endpoint: every failure of the exchange is a 503, never a 500 --------------


@pytest.mark.parametrize("script", list(MISBEHAVING))
def test_a_misbehaving_jwks_endpoint_is_503(
    raw_server: Callable[[Callable[[socket.socket], None]], RawServer], make_app: Any, k1: Key, script: str
) -> None:
    server = raw_server(MISBEHAVING[script])
    app = make_app(CRYPTR_BASE_URL=server.base_url)
    token = k1.sign({"iss": f"{server.base_url}/t/{TENANT}", "aud": AUDIENCE, "exp": int(time.time()) + 60})
    assert_error(get(app, token), 503, "jwks_unavailable", "jwks_unavailable")
    assert server.connections == 1


def test_a_dripping_jwks_endpoint_is_cut_at_the_deadline(
    raw_server: Callable[[Callable[[socket.socket], None]], RawServer], make_app: Any, k1: Key
) -> None:
    def drip(conn: socket.socket) -> None:
        body = json.dumps({"keys": [k1.jwk]}).encode()
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
        for byte in body:
            conn.sendall(bytes([byte]))
            time.sleep(0.6)

    server = raw_server(drip)
    app = make_app(CRYPTR_BASE_URL=server.base_url, CRYPTR_JWKS_TIMEOUT=1)
    token = k1.sign({"iss": f"{server.base_url}/t/{TENANT}", "aud": AUDIENCE, "exp": int(time.time()) + 60})
    start = time.monotonic()
    assert_error(get(app, token), 503, "jwks_unavailable", "jwks_unavailable")
    assert time.monotonic() - start < 1.8
