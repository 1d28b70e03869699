"""RSA keys for the differential tests, generated with `cryptography` once per session.

Private numbers never leave this module's objects: failure reports print tokens and public JWKs
only.
"""

from __future__ import annotations

import base64
import functools
from typing import List

from cryptography.hazmat.primitives.asymmetric import rsa


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def uint_bytes(value: int) -> bytes:
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


def b64url_uint(value: int) -> str:
    return b64url(uint_bytes(value))


def _from_primes(p: int, q: int, e: int) -> rsa.RSAPrivateKey:
    phi = (p - 1) * (q - 1)
    d = pow(e, -1, phi)
    numbers = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p),
        dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(e, p * q),
    )
    return numbers.private_key()


def _primes(bits: int, e: int) -> List[int]:
    """Two primes of `bits` bits each, taken from a key that `cryptography` generated for `e`
    (so that gcd(e, p - 1) = 1 holds)."""
    numbers = rsa.generate_private_key(public_exponent=e, key_size=2 * bits).private_numbers()
    return [numbers.p, numbers.q]


@functools.lru_cache(maxsize=None)
def private_key(bits: int, e: int = 65537, index: int = 0) -> rsa.RSAPrivateKey:
    """A key whose modulus has exactly `bits` bits (`index` makes distinct keys of one size).

    `cryptography` builds a modulus from two primes of floor(bits / 2) bits, so an odd size
    such as 2049 comes out one bit short; for those, primes of the two neighbouring sizes are
    combined until the product has exactly `bits` bits."""
    del index
    for _ in range(4):
        key = rsa.generate_private_key(public_exponent=e, key_size=bits)
        if key.public_key().public_numbers().n.bit_length() == bits:
            return key
    big = _primes((bits + 1) // 2, e)
    small = _primes(bits // 2, e)
    for _ in range(16):
        for p in big:
            for q in small:
                if p != q and (p * q).bit_length() == bits:
                    return _from_primes(p, q, e)
        big = _primes((bits + 1) // 2, e)
    raise RuntimeError(f"could not make a {bits}-bit key")


def public_jwk(key: rsa.RSAPrivateKey) -> dict:
    numbers = key.public_key().public_numbers()
    return {"kty": "RSA", "n": b64url_uint(numbers.n), "e": b64url_uint(numbers.e)}
