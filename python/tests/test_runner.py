"""The conformance runner's own edges: a number beyond binary64 is printed as ``claims_raw``;
options absent take the profile's defaults, ``max_lifetime: null`` is no bound; the runner never
reads the expectations."""

from __future__ import annotations

import base64
import json
import math
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from cryptr_guard import KeySet, Validator

from . import conformance_runner
from .conftest import AUDIENCE, Key


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_huge_numbers_become_inf_and_the_runner_prints_claims_raw(k1: Key) -> None:
    exp = int(time.time()) + 600
    payload = f'{{"iss":"i","aud":"{AUDIENCE}","exp":{exp},"big":1e400,"n":123456789012345678901234567890}}'
    signing_input = f'{b64(json.dumps({"alg": "RS256", "kid": "k1"}).encode())}.{b64(payload.encode())}'
    signature = k1.private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    token = f"{signing_input}.{b64(signature)}"
    keys = KeySet.from_jwks(json.dumps({"keys": [k1.jwk]}))
    claims = Validator("i", AUDIENCE).validate(token, keys)
    assert math.isinf(claims["big"]) and claims["n"] == 123456789012345678901234567890
    case = {
        "name": "t/huge",
        "token": token,
        "now": exp - 1,
        "options": {"issuer": "i", "audiences": [AUDIENCE], "leeway": 0,
                    "required_claims": ["exp", "iss", "aud"], "typ": None, "max_token_len": 8192},
    }
    out = conformance_runner.token_outcome(case, keys)
    assert out == {
        "name": "t/huge",
        "valid": True,
        "kid": "k1",
        "claims_raw": payload,
        "derived": {"issuer": "i", "client_id": None, "tenant": None, "scopes": []},
    }
    json.dumps(out, allow_nan=False)


def test_claims_are_exactly_json_loads_of_the_payload(k1: Key) -> None:
    exp = int(time.time()) + 600
    keys = KeySet.from_jwks(json.dumps({"keys": [k1.jwk]}))
    body = f'"iss":"i","aud":"{AUDIENCE}","exp":{exp},"name":"Zoë \\u00e9 \U0001f600","n":[1,2.5e3,{{"x":null}}]'
    for payload in ("{" + body + "}", " \n{" + body + "}\t", "{" + body + ',"d":{"k":1,"k":2}}'):
        signing_input = f'{b64(json.dumps({"alg": "RS256"}).encode())}.{b64(payload.encode())}'
        signature = k1.private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        token = f"{signing_input}.{b64(signature)}"
        assert Validator("i", AUDIENCE).validate(token, keys) == json.loads(payload)


def test_profile_options_absent_take_the_profiles_defaults(k1: Key) -> None:
    now = int(time.time())
    keys = KeySet.from_jwks(json.dumps({"keys": [k1.jwk]}))
    far = k1.sign({"iss": "i", "aud": AUDIENCE, "exp": now + 40 * 86400, "org": "acme", "scope": "a  b"})
    options = {"issuer": "i", "audiences": [AUDIENCE], "leeway": 0, "typ": None, "max_token_len": 8192}
    case = {"name": "t/far", "token": far, "now": now, "options": options,
            "expect": {"valid": True}}  # never read: the outcome is the validator's
    assert conformance_runner.token_outcome(case, keys)["valid"] is True  # rfc: no max_lifetime
    cryptr = dict(options, profile="cryptr")
    assert conformance_runner.token_outcome(dict(case, options=cryptr), keys) == {
        "name": "t/far", "valid": False, "error": "invalid_claim"}  # cryptr: 30 days
    unbounded = dict(cryptr, max_lifetime=None)
    out = conformance_runner.token_outcome(dict(case, options=unbounded), keys)
    assert out["derived"] == {"issuer": "i", "client_id": None, "tenant": "acme", "scopes": ["a", "b"]}
    no_aud = k1.sign({"iss": "i", "exp": now + 60, "client_id": "c1"})
    by_client = dict(cryptr, audiences=[], client_ids=["c1"])
    out = conformance_runner.token_outcome(dict(case, token=no_aud, options=by_client), keys)
    assert out["valid"] is True and out["derived"]["client_id"] == "c1"
