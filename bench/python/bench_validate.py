"""Per-token RS256 validation from Python, cached keys: cryptr_guard (token cache off) vs PyJWT
(pre-built PyJWK) vs joserfc (pre-imported key) vs python-jose called the tutorial's way (the JWK
dict per call; with its `cryptography` backend and with the pure-Python `rsa` backend the tutorial's
requirements install), plus `cryptography`'s bare verify (the floor seen from Python).

Every candidate checks the signature, exp, iss and aud of the same token. Candidates are
interleaved (one batch each per round), the per-call time of each batch recorded, and the median
over rounds reported with ratios from the same run. Run pinned to one core:

    nice -n -15 taskset -c 1 .venv/bin/python bench/python/bench_validate.py [--rounds 15] [--bits 2048 4096]
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import time
from typing import Any, Callable, Dict, List, Tuple

import jose.backends.rsa_backend
import jose.jwt
import jwt as pyjwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from jose.constants import ALGORITHMS
from joserfc import jwt as joserfc_jwt
from joserfc.jwk import RSAKey as JoserfcRSAKey

import cryptr_guard
from benchkit import AUD, access_token, rsa_key

ISS = "https://auth.cryptr.eu/t/shark-academy"


def setup(bits: int) -> Tuple[str, Dict[str, Any], Any]:
    private, jwk = rsa_key(bits)
    token = access_token(
        private, ISS, cid="client-1", jti="3f1c2a9e-1b7d-4a55-9a0e-5c4f8e2d7b10", ips="cryptr", ver=1
    )
    return token, jwk, private


def candidates(token: str, jwk: Dict[str, Any]) -> Dict[str, Callable[[], Any]]:
    jwks = {"keys": [jwk]}
    keys = cryptr_guard.KeySet.from_jwks(json.dumps(jwks))
    validator = cryptr_guard.Validator(ISS, AUD)

    def cryptr() -> Any:
        return validator.validate(token, keys)

    pyjwk = pyjwt.PyJWK(jwk)

    def pyjwt_prebuilt() -> Any:
        return pyjwt.decode(token, key=pyjwk, algorithms=["RS256"], audience=AUD, issuer=ISS)

    jrfc_key = JoserfcRSAKey.import_key(jwk)
    registry = joserfc_jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": ISS}, aud={"essential": True, "value": AUD}, exp={"essential": True}
    )

    def joserfc() -> Any:
        decoded = joserfc_jwt.decode(token, jrfc_key, algorithms=["RS256"])
        registry.validate(decoded.claims)
        return decoded.claims

    def tutorial_jose() -> Any:
        # The tutorial's requires_auth, minus the JWKS fetch: find the key, build the dict, decode.
        header = jose.jwt.get_unverified_header(token)
        rsa_key = {}
        for key in jwks["keys"]:
            if key["kid"] == header["kid"]:
                rsa_key = {"kty": key["kty"], "kid": key["kid"], "use": key["use"], "n": key["n"], "e": key["e"]}
        return jose.jwt.decode(token, rsa_key, algorithms=["RS256"], audience=AUD, issuer=ISS)

    def tutorial_jose_pure() -> Any:
        ALGORITHMS.KEYS["RS256"] = jose.backends.rsa_backend.RSAKey
        try:
            return tutorial_jose()
        finally:
            ALGORITHMS.KEYS.pop("RS256", None)

    public = pyjwk.key
    signing_input, _, sig = token.rpartition(".")
    signature = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))

    def cryptography_verify() -> Any:
        public.verify(signature, signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return {"sub": claims_sub}

    claims_sub = pyjwt_prebuilt()["sub"]
    return {
        "cryptr_guard": cryptr,
        "PyJWT (PyJWK)": pyjwt_prebuilt,
        "joserfc": joserfc,
        "python-jose, tutorial way (cryptography)": tutorial_jose,
        "python-jose, tutorial way (pure rsa)": tutorial_jose_pure,
        "cryptography verify only (floor)": cryptography_verify,
    }


def calibrate(fn: Callable[[], Any], target: float) -> int:
    n = 1
    while True:
        t = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - t
        if elapsed > target / 4:
            return max(1, int(n * target / elapsed))
        n *= 2


def run(bits: int, rounds: int, batch_seconds: float) -> List[Tuple[str, float]]:
    token, jwk, _ = setup(bits)
    cands = candidates(token, jwk)
    for name, fn in cands.items():
        assert fn()["sub"] == "eba25511-afce-4c8e-8cab-f82822434648", name
    sizes = {name: calibrate(fn, batch_seconds) for name, fn in cands.items()}
    samples: Dict[str, List[float]] = {name: [] for name in cands}
    for _ in range(rounds):
        for name, fn in cands.items():
            n = sizes[name]
            t = time.perf_counter()
            for _ in range(n):
                fn()
            samples[name].append((time.perf_counter() - t) / n * 1e6)
    return [(name, statistics.median(values)) for name, values in samples.items()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batch-seconds", type=float, default=0.2)
    parser.add_argument("--bits", type=int, nargs="+", default=[2048, 4096])
    args = parser.parse_args()
    for bits in args.bits:
        results = run(bits, args.rounds, args.batch_seconds)
        ours = dict(results)["cryptr_guard"]
        print(f"\n### RSA-{bits}: µs per validation (median of {args.rounds} interleaved rounds)\n")
        print("| candidate | µs/call | vs cryptr_guard |")
        print("| --- | ---: | ---: |")
        for name, us in results:
            print(f"| {name} | {us:.1f} | {us / ours:.2f}× |")


if __name__ == "__main__":
    main()
