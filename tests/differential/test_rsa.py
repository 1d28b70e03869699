"""Differential RSA (issue 6 item 4): the core's RS256 check (`cryptr_guard.rs256_verify`,
SPEC step 8 alone) against `cryptography`'s RSASSA-PKCS1-v1_5/SHA-256 verification, on keys of
many sizes (even and odd bit lengths, e = 3 and 65537) and on valid, corrupted and forged
signatures. The answers must agree exactly."""

from __future__ import annotations

import hashlib
from typing import List, Tuple

import pytest
from conftest import STATS, examples
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import given, settings
from hypothesis import strategies as st
from keys import private_key, public_jwk

import cryptr_guard

# (bits, e, index): sizes from the issue; two keys for the common sizes.
KEY_SPECS: List[Tuple[int, int, int]] = [
    (2048, 65537, 0),
    (2048, 65537, 1),
    (2048, 3, 0),
    (2047, 65537, 0),
    (2049, 65537, 0),
    (2049, 3, 0),
    (3071, 65537, 0),
    (3072, 65537, 0),
    (3072, 3, 0),
    (4096, 65537, 0),
    (4096, 3, 0),
    (4097, 65537, 0),
]

DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")

MUTATIONS = [
    "valid",
    "other_message",
    "bit_flip",
    "byte_flips",
    "truncate_head",
    "truncate_tail",
    "extend_head_zero",
    "extend_tail_zero",
    "strip_leading_zeros",
    "zero",
    "one",
    "n_minus_1",
    "n",
    "n_plus_1",
    "all_ff",
    "random_k",
    "random_len",
    "empty",
    "forged_e3_garbage",
    "forged_e3_exact",
    "raw_em_no_pad",
]


def reference(key: rsa.RSAPrivateKey, message: bytes, signature: bytes) -> bool:
    try:
        key.public_key().verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def icbrt(x: int) -> int:
    """Integer cube root rounded up."""
    lo, hi = 0, 1 << ((x.bit_length() + 2) // 3 + 1)
    while lo < hi:
        mid = (lo + hi) // 2
        if mid * mid * mid < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def mutate(name: str, key: rsa.RSAPrivateKey, message: bytes, data: st.DataObject) -> Tuple[bytes, bytes]:
    """(message, signature) for one mutation."""
    n = key.public_key().public_numbers().n
    k = (n.bit_length() + 7) // 8
    sig = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    assert len(sig) == k
    if name == "valid":
        return message, sig
    if name == "other_message":
        pos = data.draw(st.integers(0, max(0, len(message) * 8 - 1)), label="bit")
        if not message:
            return b"x", sig
        m = bytearray(message)
        m[pos // 8] ^= 1 << (pos % 8)
        return bytes(m), sig
    if name == "bit_flip":
        pos = data.draw(st.integers(0, k * 8 - 1), label="bit")
        s = bytearray(sig)
        s[pos // 8] ^= 1 << (pos % 8)
        return message, bytes(s)
    if name == "byte_flips":
        s = bytearray(sig)
        for pos in data.draw(st.lists(st.integers(0, k - 1), min_size=1, max_size=8), label="bytes"):
            s[pos] ^= data.draw(st.integers(1, 255), label="xor")
        return message, bytes(s)
    if name == "truncate_head":
        return message, sig[data.draw(st.integers(1, 3), label="cut") :]
    if name == "truncate_tail":
        return message, sig[: -data.draw(st.integers(1, 3), label="cut")]
    if name == "extend_head_zero":
        return message, b"\x00" + sig
    if name == "extend_tail_zero":
        return message, sig + b"\x00"
    if name == "strip_leading_zeros":
        # Find a message whose signature starts with a zero octet (always so when the modulus
        # is not a whole number of octets... only likely; bounded search).
        for i in range(600):
            m = message + i.to_bytes(2, "big")
            s = key.sign(m, padding.PKCS1v15(), hashes.SHA256())
            if s[0] == 0:
                STATS["rsa: leading-zero signature found"] += 1
                return m, s.lstrip(b"\x00")
        return message, sig
    if name == "zero":
        return message, bytes(k)
    if name == "one":
        return message, (1).to_bytes(k, "big")
    if name == "n_minus_1":
        return message, (n - 1).to_bytes(k, "big")
    if name == "n":
        return message, n.to_bytes(k, "big")
    if name == "n_plus_1":
        return message, (n + 1).to_bytes(k, "big")
    if name == "all_ff":
        return message, b"\xff" * k
    if name == "random_k":
        return message, data.draw(st.binary(min_size=k, max_size=k), label="sig")
    if name == "random_len":
        return message, data.draw(st.binary(min_size=0, max_size=k + 8), label="sig")
    if name == "empty":
        return message, b""
    h = hashlib.sha256(message).digest()
    if name == "forged_e3_garbage":
        # Bleichenbacher 2006: 00 01 FF 00 DigestInfo H garbage, then a cube root; a parser that
        # does not check the padding length accepts it for e = 3.
        prefix = b"\x00\x01\xff\x00" + DIGEST_INFO + h
        target = int.from_bytes(prefix + b"\xff" * (k - len(prefix)), "big")
        s = icbrt(int.from_bytes(prefix + b"\x00" * (k - len(prefix)), "big"))
        s = min(s, icbrt(target))
        return message, s.to_bytes(k, "big")
    if name == "forged_e3_exact":
        # The correct encoding's cube root rounded up: a real signature only if the encoding
        # happens to be a cube (it never is), so both must reject.
        em = b"\x00\x01" + b"\xff" * (k - 3 - len(DIGEST_INFO) - 32) + b"\x00" + DIGEST_INFO + h
        return message, icbrt(int.from_bytes(em, "big")).to_bytes(k, "big")
    if name == "raw_em_no_pad":
        # s^e = EM with s = EM^d (a well-formed signature of a *different* encoding: the padding
        # string shortened by one octet, a zero octet in front). Both must reject.
        d = key.private_numbers().d
        em = b"\x00\x00\x01" + b"\xff" * (k - 4 - len(DIGEST_INFO) - 32) + b"\x00" + DIGEST_INFO + h
        return message, pow(int.from_bytes(em, "big"), d, n).to_bytes(k, "big")
    raise AssertionError(name)


@pytest.fixture(scope="module")
def rsa_keys() -> List[rsa.RSAPrivateKey]:
    return [private_key(bits, e, index) for bits, e, index in KEY_SPECS]


def test_keys_have_the_sizes_asked_for(rsa_keys: List[rsa.RSAPrivateKey]) -> None:
    for (bits, e, _), key in zip(KEY_SPECS, rsa_keys):
        numbers = key.public_key().public_numbers()
        assert (numbers.n.bit_length(), numbers.e) == (bits, e)


def test_every_valid_signature_verifies(rsa_keys: List[rsa.RSAPrivateKey]) -> None:
    for key in rsa_keys:
        for message in (b"", b"header.payload", bytes(range(256)) * 40):
            sig = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
            assert cryptr_guard.rs256_verify(public_jwk(key), message, sig)
            assert reference(key, message, sig)


@settings(max_examples=examples(400, 5000))
@given(data=st.data())
def test_rs256_agrees_with_cryptography(rsa_keys: List[rsa.RSAPrivateKey], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(rsa_keys) - 1), label="key")
    key = rsa_keys[index]
    name = data.draw(st.sampled_from(MUTATIONS), label="mutation")
    message = data.draw(st.binary(max_size=300), label="message")
    message, signature = mutate(name, key, message, data)
    expected = reference(key, message, signature)
    got = cryptr_guard.rs256_verify(public_jwk(key), message, signature)
    bits, e, _ = KEY_SPECS[index]
    STATS[f"rsa: {'accept' if expected else 'reject'}"] += 1
    assert got == expected, (
        f"rs256_verify={got} cryptography={expected} for a {bits}-bit key with e={e}, mutation "
        f"{name}; public JWK {public_jwk(key)}; message {message.hex()}; signature {signature.hex()}"
    )
