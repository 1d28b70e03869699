"""The Guard through its Python API: settings read by the core (one conversion rule for Python
values), the fetcher protocol, several issuers, waits that release the GIL, readiness."""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Dict, List, Tuple, Union

import pytest

import cryptr_guard
from cryptr_guard import Guard, SettingError

from .conftest import CLIENT_ID, Key

A = "https://auth.example.com/t/acme"
B = "https://auth.example.com/t/globex"
AUDIENCE = "https://api.example.com"

Outcome = Union[Tuple[int, Any, bytes], str]


class Fetcher:
    """Serves key sets from memory and records the fetches."""

    def __init__(self, documents: Dict[str, bytes]) -> None:
        self.documents = documents
        self.calls: List[Tuple[str, int, int]] = []
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, url: str, timeout: int, max_bytes: int) -> Outcome:
        self.calls.append((url, timeout, max_bytes))
        self.gate.wait(10)
        return (200, "max-age=600", self.documents[url])


def settings(**extra: Any) -> Dict[str, Any]:
    base: Dict[str, Any] = {
        "CRYPTR_BASE_URL": "https://auth.example.com",
        "CRYPTR_TENANT_DOMAIN": "acme,globex",
        "CRYPTR_AUDIENCE": AUDIENCE,
        "CRYPTR_CLIENT_IDS": CLIENT_ID,
    }
    base.update(extra)
    return base


@pytest.fixture
def fetcher(k1: Key, k2: Key) -> Fetcher:
    return Fetcher(
        {
            f"{A}/.well-known": json.dumps({"keys": [k1.jwk]}).encode(),
            f"{B}/.well-known": json.dumps({"keys": [k2.jwk]}).encode(),
        }
    )


def token(key: Key, issuer: str, **extra: Any) -> str:
    now = int(time.time())
    claims = {"aud": [], "exp": now + 600, "client_id": CLIENT_ID, "org": issuer.rsplit("/", 1)[1], "scope": ["read"]}
    claims.update(extra)
    return key.sign(claims, headers={"iss": issuer})


def test_python_values_become_setting_text_by_one_rule(fetcher: Fetcher) -> None:
    guard = Guard(
        settings(
            CRYPTR_TENANT_DOMAIN=("acme", "globex"),
            CRYPTR_AUDIENCE=[AUDIENCE, "https://other.api"],
            CRYPTR_LEEWAY=5,
            CRYPTR_ALLOW_HTTP=False,
            CRYPTR_MAX_LIFETIME=None,  # None is unset: the profile's 30 days
            CRYPTR_TOKEN_CACHE_SIZE=0,
        ),
        fetcher=fetcher,
    )
    validator = guard.validator
    assert validator.issuers == [A, B]
    assert validator.audiences == [AUDIENCE, "https://other.api"]
    assert (validator.leeway, validator.max_lifetime, validator.profile) == (5, 30 * 86400, "cryptr")
    assert repr(guard) == f'Guard(issuers=["{A}", "{B}"])'
    assert guard.fetcher is fetcher


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("CRYPTR_LEEWAY", 2.5),
        ("CRYPTR_LEEWAY", {"seconds": 5}),
        ("CRYPTR_AUDIENCE", [AUDIENCE, 1.5]),
        ("CRYPTR_ALLOW_HTTP", b"true"),
        ("CRYPTR_GUARD_LEEWAY", "soon"),  # an older name: the error names the current one
    ],
)
def test_values_that_are_not_settings_name_the_key(fetcher: Fetcher, key: str, value: Any) -> None:
    with pytest.raises(SettingError) as info:
        Guard(settings(**{key: value}), fetcher=fetcher)
    assert info.value.key == key.replace("CRYPTR_GUARD_", "CRYPTR_")


def test_older_names_keep_working(fetcher: Fetcher) -> None:
    values = settings(CRYPTR_GUARD_LEEWAY="7", CRYPTR_AUDIENCES="https://older.api")
    del values["CRYPTR_AUDIENCE"]
    validator = Guard(values, fetcher=fetcher).validator
    assert validator.leeway == 7 and validator.audiences == ["https://older.api"]
    assert ("CRYPTR_LEEWAY", "CRYPTR_GUARD_LEEWAY") in cryptr_guard.ALIASES


def test_settings_and_fetcher_types() -> None:
    with pytest.raises(TypeError, match="mapping"):
        Guard([("CRYPTR_AUDIENCE", "x")])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="callable"):
        Guard(settings(), fetcher="https://example.com")  # type: ignore[arg-type]
    assert {name for name, _ in cryptr_guard.SETTINGS} >= {"CRYPTR_BASE_URL", "CRYPTR_CLIENT_IDS"}


def test_several_issuers_fetch_due_and_readiness(fetcher: Fetcher, k1: Key, k2: Key) -> None:
    guard = Guard(settings(), fetcher=fetcher)
    assert guard.is_ready() is False
    assert [row["key_set"] for row in guard.issuers()] == ["missing", "missing"]
    reports = guard.fetch_due()
    assert sorted((r["issuer"], r["outcome"]) for r in reports) == [(A, "ok"), (B, "ok")]
    assert all(r["message"].startswith("key set installed") for r in reports)
    assert guard.is_ready() and guard.fetch_due() == []
    assert sorted(url for url, _, _ in fetcher.calls) == [f"{A}/.well-known", f"{B}/.well-known"]
    assert all((timeout, max_bytes) == (5, 1 << 20) for _, timeout, max_bytes in fetcher.calls)
    assert guard.verify(token(k1, A)).tenant == "acme"
    assert guard.validate(token(k2, B))["org"] == "globex"
    with pytest.raises(cryptr_guard.UnknownKey):
        guard.validate(token(k1, B))
    rows = guard.issuers()
    assert rows[0]["usable_keys"] == 1 and rows[0]["generation"] == 1 and rows[0]["ready"] is True


def test_requests_waiting_for_a_fetch_release_the_gil(fetcher: Fetcher, k1: Key) -> None:
    """While one request fetches (its fetcher blocked), others wait for that fetch without the
    GIL: this thread keeps running, then every request is answered from the one fetch."""
    guard = Guard(settings(), fetcher=fetcher)
    fetcher.gate.clear()
    answers: List[str] = []

    def request(i: int) -> None:
        answers.append(guard.validate(token(k1, A, sub=f"u{i}"))["sub"])

    threads = [threading.Thread(target=request, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    spins = 0
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:
        spins += 1
    assert spins > 1000 and answers == []
    fetcher.gate.set()
    for t in threads:
        t.join(10)
    assert sorted(answers) == ["u0", "u1", "u2", "u3"]
    assert len(fetcher.calls) == 1


def test_a_keyboard_interrupt_in_the_fetcher_still_reports_the_fetch(k1: Key) -> None:
    calls: List[str] = []

    def interrupted(url: str, timeout: int, max_bytes: int) -> Outcome:
        calls.append(url)
        raise KeyboardInterrupt

    guard = Guard(settings(CRYPTR_TENANT_DOMAIN="acme"), fetcher=interrupted)
    with pytest.raises(KeyboardInterrupt):
        guard.validate(token(k1, A))
    assert guard.issuers()[0]["consecutive_failures"] == 1
    assert guard.issuers()[0]["fetch_in_flight"] is False
    assert len(calls) == 1


def test_claims_are_fresh_dicts_on_every_hit(fetcher: Fetcher, k1: Key) -> None:
    guard = Guard(settings(), fetcher=fetcher)
    t = token(k1, A, nested={"list": [1, {"x": 2}]})
    first = guard.validate(t)
    first["nested"]["list"].append(3)
    for _ in range(3):
        verified = guard.verify(t)
        assert verified.claims["nested"] == {"list": [1, {"x": 2}]}
        assert verified.claims is verified.claims
        verified.claims["nested"]["list"].clear()
    assert guard.issuers()[0]["token_cache_hits"] == 3


def test_require_scopes_is_the_cores_rule() -> None:
    from cryptr_guard import CryptrGuardError, ERRORS, InsufficientScope, require_scopes

    require_scopes(["openid", "admin"], ["admin"])
    require_scopes(["openid"], [])
    with pytest.raises(InsufficientScope) as info:
        require_scopes(["openid"], ["admin", "read:courses"])
    error = info.value
    assert isinstance(error, CryptrGuardError) and error.code == "insufficient_scope"
    assert "insufficient_scope" not in ERRORS  # not a SPEC §3 token code
    answer = error.answer
    assert answer is not None
    assert (answer.status, answer.code, answer.error) == (403, "insufficient_scope", "insufficient_scope")
    assert answer.www_authenticate == (
        'Bearer error="insufficient_scope", error_description="the token lacks a required scope", '
        'scope="admin read:courses"'
    )
    assert ("WWW-Authenticate", answer.www_authenticate) in answer.headers
    with pytest.raises(InsufficientScope):
        require_scopes("admin", "openid")  # a str is one scope
