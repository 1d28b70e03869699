"""The compiled module through its Python API: key sets, validation, errors, caches."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

import cryptr_guard
from cryptr_guard import (
    ERRORS,
    CryptrGuardError,
    InvalidJwks,
    KeySet,
    TokenCache,
    TokenExpired,
    UnknownKey,
    Validator,
    _native,
)

from .conftest import AUDIENCE, Key

ISS = "https://auth.example.com/t/acme"


def claims(**extra: Any) -> dict:
    now = int(time.time())
    out = {"iss": ISS, "aud": AUDIENCE, "sub": "u1", "exp": now + 600, "iat": now - 5}
    out.update(extra)
    return out


def test_every_spec_code_has_its_own_exception_class() -> None:
    host_codes = {"authorization_header_missing", "invalid_header"}
    assert set(ERRORS) == set(_native.CORE_CODES) | host_codes
    classes = set()
    for code, cls in ERRORS.items():
        assert cls.code == code
        assert issubclass(cls, CryptrGuardError) and issubclass(cls, ValueError)
        classes.add(cls)
        assert getattr(cryptr_guard, cls.__name__) is cls
    assert len(classes) == len(ERRORS)


def test_key_set_kids_and_skipped(k1: Key) -> None:
    private = dict(k1.jwk, kid="leak", d="AQAB")
    doc = {"keys": [k1.jwk, {"kty": "EC", "kid": "ec"}, private, dict(k1.jwk, kid=None)]}
    keys = KeySet.from_jwks(json.dumps(doc))
    assert keys.kids == ["k1"]
    assert keys.skipped == [
        ("ec", "kty is not RSA"),
        ("leak", "the key carries private key material"),
        (None, "kid is not a string of at most 256 bytes"),
    ]
    assert len(keys) == 1
    assert KeySet.from_jwks(json.dumps(doc).encode()).kids == ["k1"]


def test_key_set_errors(k1: Key) -> None:
    for bad in (b"", b"[]", b'{"keys": 1}', b'{"keys": [1]}', b'{"keys": [], "keys": []}'):
        with pytest.raises(InvalidJwks) as info:
            KeySet.from_jwks(bad)
        assert info.value.code == "invalid_jwks"
    with pytest.raises(ValueError):
        KeySet.from_jwks(b'{"keys": []}', min_rsa_bits=512)
    with pytest.raises(TypeError):
        KeySet.from_jwks(123)  # type: ignore[arg-type]
    small = Key("small", bits=1024)
    doc = json.dumps({"keys": [small.jwk]})
    assert KeySet.from_jwks(doc).kids == []
    assert KeySet.from_jwks(doc, min_rsa_bits=1024).kids == ["small"]


def test_validate_returns_the_full_claims(k1: Key) -> None:
    keys = KeySet.from_jwks(json.dumps({"keys": [k1.jwk]}))
    nested = {"roles": ["admin"], "org": {"id": 7, "tags": [1.5, None, True]}}
    token = k1.sign(claims(**nested))
    got = Validator(ISS, AUDIENCE).validate(token, keys)
    assert got["org"] == nested["org"] and got["roles"] == ["admin"] and got["sub"] == "u1"
    # bytes work as well as str, and a list of issuers / audiences
    validator = Validator(["https://other", ISS], ["x", AUDIENCE], leeway=5)
    assert validator.validate(token.encode(), keys)["sub"] == "u1"
    assert validator.issuers == ["https://other", ISS] and validator.leeway == 5
    verified = validator.verify(token, keys)
    assert verified.kid == "k1"
    assert json.loads(verified.payload) == verified.claims


def test_now_defaults_to_the_clock_and_can_be_given(k1: Key) -> None:
    keys = KeySet.from_jwks(json.dumps({"keys": [k1.jwk]}))
    now = int(time.time())
    token = k1.sign(claims(exp=now + 100))
    validator = Validator(ISS, AUDIENCE)
    assert validator.validate(token, keys)["exp"] == now + 100
    with pytest.raises(TokenExpired) as info:
        validator.validate(token, keys, now=now + 100)
    assert info.value.code == "token_expired"
    assert "token" not in info.value.description or "." not in info.value.description
    assert str(info.value).startswith("token_expired: ")
    with pytest.raises(OverflowError):
        validator.validate(token, keys, now=-1)


@pytest.mark.parametrize(
    ("mutation", "code"),
    [
        ({"exp": "soon"}, "invalid_claim"),
        ({"exp": None}, "missing_claim"),
        ({"nbf": 4102444800}, "token_not_yet_valid"),
        ({"iss": "https://evil"}, "invalid_issuer"),
        ({"aud": ["nope"]}, "invalid_audience"),
    ],
)
def test_claim_errors(k1: Key, mutation: dict, code: str) -> None:
    keys = KeySet.from_jwks(json.dumps({"keys": [k1.jwk]}))
    c = claims()
    for name, value in mutation.items():
        if value is None:
            c.pop(name)
        else:
            c[name] = value
    with pytest.raises(ERRORS[code]) as info:
        Validator(ISS, AUDIENCE).validate(k1.sign(c), keys)
    assert info.value.code == code


def test_token_errors(k1: Key, k2: Key) -> None:
    keys = KeySet.from_jwks(json.dumps({"keys": [k1.jwk]}))
    validator = Validator(ISS, AUDIENCE)
    cases = [
        ("garbage", "malformed_token"),
        ("a.b.c.d.e", "malformed_token"),
        ("x" * 9000, "malformed_token"),
        ("\ud800.a.b", "malformed_token"),
        (k2.sign(claims()), "unknown_key"),
        (k2.sign(claims(), kid="k1"), "invalid_signature"),
    ]
    header = "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIn0"  # {"alg":"HS256","kid":"k1"}
    cases.append((f"{header}.e30.c2ln", "unsupported_algorithm"))
    for token, code in cases:
        with pytest.raises(CryptrGuardError) as info:
            validator.validate(token, keys)
        assert info.value.code == code, token[:40]
    with pytest.raises(TypeError):
        validator.validate(123, keys)  # type: ignore[arg-type]


def test_validator_options_are_checked() -> None:
    with pytest.raises(ValueError):
        Validator([], AUDIENCE)
    with pytest.raises(ValueError):
        Validator(ISS, AUDIENCE, required_claims=["exp", "colour"])
    with pytest.raises(TypeError):
        Validator(ISS, 5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="profile"):
        Validator(ISS, AUDIENCE, profile="oidc")
    with pytest.raises(ValueError, match="max_lifetime"):
        Validator(ISS, AUDIENCE, max_lifetime=0)
    with pytest.raises(ValueError, match="client id"):
        Validator(ISS, [])
    with pytest.raises(TypeError):
        Validator(ISS, AUDIENCE, max_lifetime="forever")  # type: ignore[arg-type]
    v = Validator(ISS, [], client_ids="c1", profile="cryptr")
    assert (v.profile, v.client_ids, v.audiences, v.max_lifetime) == ("cryptr", ["c1"], [], 30 * 86400)
    assert Validator(ISS, AUDIENCE, profile="cryptr", max_lifetime=None).max_lifetime is None
    assert Validator(ISS, AUDIENCE, max_lifetime=60).max_lifetime == 60
    assert Validator(ISS, AUDIENCE).max_lifetime is None and Validator(ISS, AUDIENCE).profile == "rfc"


def v3_token(key: Key, **extra: Any) -> str:
    now = int(time.time())
    payload = {"aud": [], "sub": "u3", "exp": now + 600, "iat": now - 5, "client_id": "c1", "org": "acme",
               "scope": ["openid", "email"], "jtt": "access", "ver": 3}
    payload.update(extra)
    return key.sign(payload, headers={"iss": ISS, "typ": "JWT"})


def test_the_cryptr_profile_accepts_v3_tokens_by_client_id(k1: Key) -> None:
    keys = KeySet.from_jwks(json.dumps({"keys": [k1.jwk]}))
    token = v3_token(k1)
    cryptr = Validator(ISS, AUDIENCE, profile="cryptr", client_ids=["c1"])
    verified = cryptr.verify(token, keys)
    assert (verified.issuer, verified.client_id, verified.tenant) == (ISS, "c1", "acme")
    assert verified.scopes == ["openid", "email"]
    assert verified.claims is verified.claims  # parsed once
    assert "iss" not in verified.claims and verified.claims["org"] == "acme"
    with pytest.raises(cryptr_guard.InvalidAudience, match="CRYPTR_CLIENT_IDS"):
        Validator(ISS, AUDIENCE, profile="cryptr").validate(token, keys)
    with pytest.raises(cryptr_guard.MissingClaim):  # rfc: no payload iss
        Validator(ISS, AUDIENCE, client_ids=["c1"]).validate(token, keys)
    with pytest.raises(cryptr_guard.InvalidClaim):  # an ID token is not an access token
        cryptr.validate(v3_token(k1, jtt="openid"), keys)
    # v1: scp as a space-separated string, cid and tnt.
    v1 = cryptr.verify(k1.sign(claims(scp="a  b", cid="c9", tnt="globex")), keys)
    assert (v1.client_id, v1.tenant, v1.scopes) == ("c9", "globex", ["a", "b"])
    # The rfc profile derives no tenant, and no client id from cid.
    rfc = Validator(ISS, AUDIENCE).verify(k1.sign(claims(scp=["x"], cid="c9", tnt="globex")), keys)
    assert (rfc.issuer, rfc.client_id, rfc.tenant, rfc.scopes) == (ISS, None, None, ["x"])


def test_validate_by_issuer_checks_a_token_against_its_issuers_key_set(k1: Key, k2: Key) -> None:
    other = "https://auth.example.com/t/globex"
    sets = {ISS: KeySet.from_jwks(json.dumps({"keys": [k1.jwk]})),
            other: KeySet.from_jwks(json.dumps({"keys": [k2.jwk]}))}
    validator = Validator([ISS, other], AUDIENCE, profile="cryptr", client_ids=["c1"])
    assert validator.verify_by_issuer(v3_token(k1), sets).issuer == ISS
    assert validator.validate_by_issuer(k2.sign(claims(iss=other)), sets)["iss"] == other
    with pytest.raises(cryptr_guard.UnknownKey):  # claims globex, signed with acme's key
        validator.validate_by_issuer(k1.sign(claims(iss=other)), sets)
    with pytest.raises(cryptr_guard.InvalidIssuer):
        validator.validate_by_issuer(k1.sign(claims(iss="https://evil")), sets)
    no_iss = claims()
    del no_iss["iss"]
    with pytest.raises(cryptr_guard.MissingClaim):
        validator.validate_by_issuer(k1.sign(no_iss), sets)
    with pytest.raises(cryptr_guard.JwksUnavailable):
        validator.validate_by_issuer(k2.sign(claims(iss=other)), {ISS: sets[ISS]})
    with pytest.raises(TypeError):
        validator.validate_by_issuer(v3_token(k1), {ISS: "not a key set"})  # type: ignore[dict-item]


def test_exceptions_carry_the_cores_http_answer(k1: Key, k2: Key) -> None:
    keys = KeySet.from_jwks(json.dumps({"keys": [k1.jwk]}))
    with pytest.raises(UnknownKey) as info:
        Validator(ISS, AUDIENCE).validate(k2.sign(claims()), keys)
    answer = info.value.answer
    assert answer is not None
    assert (answer.status, answer.code, answer.error) == (401, "no_rsa_key", "unknown_key")
    assert json.loads(answer.body) == {"code": "no_rsa_key", "description": info.value.description,
                                       "error": "unknown_key"}
    assert answer.headers[0] == ("Content-Type", "application/json")
    assert answer.www_authenticate is not None and answer.retry_after is None
    with pytest.raises(InvalidJwks) as jwks:
        KeySet.from_jwks(b"[]")
    assert jwks.value.answer is not None and jwks.value.answer.status == 503
    assert cryptr_guard.http_answer("invalid_jwks").retry_after == 1
    assert cryptr_guard.http_answer("authorization_header_missing").www_authenticate == "Bearer"
    assert cryptr_guard.http_answer("token_expired").code == "token_expired"
    with pytest.raises(ValueError):
        cryptr_guard.http_answer("no_such_code")
    # Raised by Python code, an exception has no answer of its own.
    assert cryptr_guard.InvalidHeader().answer is None


def test_required_claims_and_typ(k1: Key) -> None:
    keys = KeySet.from_jwks(json.dumps({"keys": [k1.jwk]}))
    c = claims()
    del c["exp"]
    token = k1.sign(c, headers={"typ": "at+jwt"})
    assert Validator(ISS, AUDIENCE, required_claims=["iss"]).validate(token, keys)["sub"] == "u1"
    with pytest.raises(cryptr_guard.MissingClaim):
        Validator(ISS, AUDIENCE, required_claims=("exp", "iss", "aud", "jti")).validate(token, keys)
    assert Validator(ISS, AUDIENCE, required_claims=[], typ="application/AT+JWT").validate(token, keys)
    with pytest.raises(cryptr_guard.MalformedToken):
        Validator(ISS, AUDIENCE, required_claims=[], typ="JWT").validate(token, keys)


def test_token_cache_skips_the_signature_not_the_clock(k1: Key) -> None:
    keys = KeySet.from_jwks(json.dumps({"keys": [k1.jwk]}))
    now = int(time.time())
    token = k1.sign(claims(exp=now + 60))
    validator = Validator(ISS, AUDIENCE)
    cache = TokenCache(100)
    assert validator.validate(token, keys, cache=cache)["sub"] == "u1"
    assert validator.validate(token, keys, cache=cache)["sub"] == "u1"
    assert cache.stats == {"hits": 1, "misses": 1, "evictions": 0, "size": 1}
    with pytest.raises(TokenExpired):
        validator.validate(token, keys, now=now + 60, cache=cache)
    assert len(cache) == 0  # the expired entry was dropped
    # A new key set (another document) clears the cache.
    validator.validate(token, keys, cache=cache)
    hits = cache.stats["hits"]
    other = KeySet.from_jwks(json.dumps({"keys": [k1.jwk], "note": 1}))
    validator.validate(token, other, cache=cache)
    assert cache.stats["hits"] == hits and len(cache) == 1
    disabled = TokenCache(0)
    validator.validate(token, keys, cache=disabled)
    validator.validate(token, keys, cache=disabled)
    assert disabled.stats["hits"] == 0 and disabled.capacity == 0


def test_cache_hits_return_fresh_claims(k1: Key) -> None:
    """A hit answers a copy of the claims parsed on the first call: equal to the payload's JSON,
    and the caller's changes (nested ones included) never reach the next caller."""
    keys = KeySet.from_jwks(json.dumps({"keys": [k1.jwk]}))
    nested = {"scp": ["openid", "email"], "org": {"id": 7, "tags": [1.5, None, True, {"x": [1]}]}, "n": 2**70}
    token = k1.sign(claims(**nested))
    validator = Validator(ISS, AUDIENCE)
    cache = TokenCache(100)
    expected = json.loads(validator.verify(token, keys).payload)
    first = validator.validate(token, keys, cache=cache)
    assert first == expected
    first["scp"].append("admin")
    first["org"]["tags"][3]["x"].append(2)
    first["org"]["id"] = 8
    del first["sub"]
    for _ in range(3):
        hit = validator.validate(token, keys, cache=cache)
        assert hit == expected and hit is not first
        hit["scp"].clear()
        hit["org"]["tags"].pop()
    assert cache.stats["hits"] == 3
    # Many distinct tokens through one cache (past the parsed-claims memo's bound): every answer
    # is its own token's claims.
    many = [k1.sign(claims(sub=f"user-{i}")) for i in range(40)]
    small = TokenCache(16)
    for _ in range(2):
        for i, t in enumerate(many):
            assert validator.validate(t, keys, cache=small)["sub"] == f"user-{i}"
    # The same token under another key set (cache cleared) still answers its claims.
    other = KeySet.from_jwks(json.dumps({"keys": [k1.jwk], "note": 1}))
    assert validator.validate(token, other, cache=cache) == expected


def test_rs256_verify(k1: Key) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    message = b"header.payload"
    signature = k1.private.sign(message, padding.PKCS1v15(), hashes.SHA256())
    assert cryptr_guard.rs256_verify(k1.jwk, message, signature) is True
    assert cryptr_guard.rs256_verify(json.dumps(k1.jwk), message, signature) is True
    assert cryptr_guard.rs256_verify(k1.jwk, message + b"!", signature) is False
    assert cryptr_guard.rs256_verify(k1.jwk, message, signature[:-1]) is False
    assert cryptr_guard.rs256_verify({"kty": "RSA"}, message, signature) is False
    with pytest.raises(TypeError):
        cryptr_guard.rs256_verify([1], message, signature)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        cryptr_guard.rs256_verify("{not json", message, signature)


def test_unknown_key_is_a_value_error(k1: Key, k2: Key) -> None:
    keys = KeySet.from_jwks(json.dumps({"keys": [k1.jwk]}))
    try:
        Validator(ISS, AUDIENCE).validate(k2.sign(claims()), keys)
    except ValueError as e:
        assert isinstance(e, UnknownKey)
    else:  # pragma: no cover
        pytest.fail("no error")


def test_concurrent_validation_shares_one_cache(k1: Key) -> None:
    import threading

    keys = KeySet.from_jwks(json.dumps({"keys": [k1.jwk]}))
    validator = Validator(ISS, AUDIENCE)
    cache = TokenCache(1000)
    tokens = [k1.sign(claims(sub=f"u{i}")) for i in range(8)]
    errors: list = []

    def work(token: str) -> None:
        try:
            for _ in range(25):
                validator.validate(token, keys, cache=cache)
        except Exception as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    stats = cache.stats
    assert stats["hits"] + stats["misses"] == 200 and stats["size"] == 8


def test_the_gil_is_released_during_verification(k1: Key) -> None:
    """A thread waking from sleep needs the GIL back. With a 3 s switch interval, it gets it at
    once only if the thread running validate() releases it; a loop that held the GIL would delay
    the sleeper by the whole interval (a pure-Python loop does: 3.0 s measured)."""
    import sys
    import threading

    keys = KeySet.from_jwks(json.dumps({"keys": [k1.jwk]}))
    validator = Validator(ISS, AUDIENCE)
    token = k1.sign(claims())
    go = threading.Event()
    done = threading.Event()
    delays: list = []

    def sleeper() -> None:
        go.wait(10)
        time.sleep(0.02)  # the worker takes the GIL meanwhile
        start = time.monotonic()
        time.sleep(0.05)  # wakes up needing the GIL back
        delays.append(time.monotonic() - start - 0.05)
        done.set()

    def worker() -> None:
        go.wait(10)
        deadline = time.monotonic() + 10
        while not done.is_set() and time.monotonic() < deadline:
            validator.validate(token, keys)

    old = sys.getswitchinterval()
    sys.setswitchinterval(3.0)
    try:
        threads = [threading.Thread(target=sleeper), threading.Thread(target=worker)]
        for t in threads:
            t.start()
        go.set()
        for t in threads:
            t.join(20)
    finally:
        sys.setswitchinterval(old)
    assert delays and delays[0] < 1.0, delays
