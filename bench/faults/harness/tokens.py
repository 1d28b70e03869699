"""Test-only RSA keys (standard library: key generation and RS256 signing) and the JWTs signed
with them. Loopback runs only: the private keys live in memory for one run.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from typing import Any


_SMALL_PRIMES = [p for p in range(3, 3000) if all(p % q for q in range(2, int(p**0.5) + 1))]
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def _probable_prime(n: int, rng: random.Random) -> bool:
    for p in _SMALL_PRIMES:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(40):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int, rng: random.Random) -> int:
    while True:
        candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if (candidate - 1) % 65537 and _probable_prime(candidate, rng):
            return candidate


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class RsaKey:
    """An RSA key pair (e = 65537) held in memory for the run."""

    def __init__(self, kid: str, bits: int, rng: random.Random):
        self.kid = kid
        while True:
            p, q = _prime(bits // 2, rng), _prime(bits // 2, rng)
            n = p * q
            if p != q and n.bit_length() == bits:
                break
        self.n, self.e = n, 65537
        self.d = pow(self.e, -1, (p - 1) * (q - 1))
        self.size = (bits + 7) // 8

    def jwk(self, **extra: str) -> dict[str, Any]:
        jwk = {
            "kty": "RSA",
            "kid": self.kid,
            "use": "sig",
            "alg": "RS256",
            "n": b64u(self.n.to_bytes(self.size, "big")),
            "e": "AQAB",
        }
        jwk.update(extra)
        return jwk

    def sign(self, message: bytes) -> bytes:
        t = _SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
        em = b"\x00\x01" + b"\xff" * (self.size - len(t) - 3) + b"\x00" + t
        return pow(int.from_bytes(em, "big"), self.d, self.n).to_bytes(self.size, "big")


def jwt(header: dict[str, Any], claims: dict[str, Any], signer: RsaKey | None) -> str:
    head = b64u(json.dumps(header, separators=(",", ":")).encode())
    body = b64u(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{head}.{body}".encode()
    signature = signer.sign(signing_input) if signer else b"\x00" * 32
    return f"{head}.{body}.{b64u(signature)}"
