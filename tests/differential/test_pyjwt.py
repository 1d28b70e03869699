"""Differential testing against PyJWT 2.15.1 (issue 6 item 2).

Hypothesis builds a valid RS256 token and its JWKS, then mutates them: header and payload members
added, removed, retyped and duplicated; numbers in every spelling (fractions, exponents, huge,
negative, beyond binary64); string escapes (\\/, \\u, surrogate pairs, lone surrogates);
whitespace and encodings; base64url padding, trailing bits and foreign characters; segment
edits; signature bit flips and truncation; key mutations in the JWKS (use/alg/key_ops/kid
types, private members, small moduli, key encodings); `now` around the exp/nbf/iat boundaries.

The same input goes to cryptr_guard (`KeySet.from_jwks` + `Validator.validate`) and to PyJWT the
way a PyJWT user would validate it (PyJWKClient's key selection over the same JWKS, then
`jwt.decode` with the PyJWK, algorithms=["RS256"], issuer, audience, leeway and
options={"require": [...]}) with PyJWT's clock set to the same `now`.

- cryptr_guard must answer every input with success or a SPEC §3 code, nothing else;
- when both accept, the claims must be equal;
- when they disagree, a documented intended difference (intended.py, each citing SECURITY.md)
  must explain it; anything else fails with a repro (token, JWKS with public material only,
  options)."""

from __future__ import annotations

import datetime as _dt
import json
import random
import warnings
from typing import Any, Dict, List, Optional, Tuple

import jwt
import jwt.api_jwt
from conftest import STATS, examples
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import given, note, settings
from hypothesis import strategies as st
from intended import Case, explain, spec_usable_keys
from jsontext import Obj, Raw, Writer
from jwt.jwks_client import PyJWKClient
from jwt.warnings import InsecureKeyLengthWarning
from keys import b64url, b64url_uint, private_key, uint_bytes

import cryptr_guard

NOW = 1_750_000_000
ISSUER = "https://auth.example.com/t/acme"
AUDIENCE = "https://api.example.com"
OTHER_AUDIENCE = "urn:other"

# (bits, e, index): the signing-key pool. 1024 bits is below SPEC's minimum on purpose.
POOL: List[Tuple[int, int, int]] = [(2048, 65537, 0), (2048, 65537, 1), (2048, 3, 0), (3072, 65537, 0), (1024, 65537, 0)]


def pool_key(i: int) -> rsa.RSAPrivateKey:
    return private_key(*POOL[i])


# ---------------------------------------------------------------------------------------------
# PyJWT's side
# ---------------------------------------------------------------------------------------------


class _FrozenDatetime(_dt.datetime):
    frozen = NOW

    @classmethod
    def now(cls, tz: Optional[_dt.tzinfo] = None) -> "_FrozenDatetime":  # type: ignore[override]
        return cls.fromtimestamp(cls.frozen, tz)


class StaticJWKClient(PyJWKClient):
    """PyJWKClient whose "fetch" returns the parsed JWKS document (what `json.load` of the HTTP
    body gives), so that PyJWT's own key selection runs without I/O."""

    def __init__(self, body: bytes) -> None:
        super().__init__("https://issuer.invalid/jwks", cache_jwk_set=False)
        self.body = body

    def fetch_data(self) -> Any:
        return json.loads(self.body)


def pyjwt_decide(case: Case) -> Tuple[Optional[str], Optional[Dict[str, Any]]]:
    """(None, claims) when PyJWT accepts, (exception name, None) otherwise."""
    original = jwt.api_jwt.datetime
    _FrozenDatetime.frozen = case.now
    jwt.api_jwt.datetime = _FrozenDatetime  # type: ignore[misc]
    try:
        with warnings.catch_warnings():
            # PyJWT's default for short keys is a warning, not a refusal (SECURITY.md: key policy).
            warnings.simplefilter("ignore", InsecureKeyLengthWarning)
            key = StaticJWKClient(case.jwks).get_signing_key_from_jwt(case.token)
            claims = jwt.decode(
                case.token,
                key,
                algorithms=["RS256"],
                issuer=case.issuer,
                audience=case.audiences[0] if len(case.audiences) == 1 else case.audiences,
                leeway=case.leeway,
                options={"require": list(case.required)},
            )
        return None, claims
    except Exception as exc:  # noqa: BLE001 - every PyJWT failure is a rejection
        return type(exc).__name__, None
    finally:
        jwt.api_jwt.datetime = original  # type: ignore[misc]


def cg_decide(case: Case) -> Tuple[Optional[str], Optional[Dict[str, Any]]]:
    """(None, claims) on success, (SPEC code, None) on a CryptrGuardError. Anything else raised
    propagates and fails the test."""
    try:
        keys = cryptr_guard.KeySet.from_jwks(case.jwks)
        validator = cryptr_guard.Validator(
            case.issuer,
            case.audiences,
            leeway=case.leeway,
            required_claims=case.required,
            typ=case.typ,
            max_token_len=case.max_token_len,
        )
        return None, validator.validate(case.token, keys, now=case.now)
    except cryptr_guard.CryptrGuardError as exc:
        assert exc.code in cryptr_guard._native.CORE_CODES, f"not a SPEC code: {exc.code!r}"
        return exc.code, None


# ---------------------------------------------------------------------------------------------
# Generators
# ---------------------------------------------------------------------------------------------

LONE = ["\ud800", "\udfff", "a\udc00b", "\udbff\ud800"]
TEXT = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "/", "a/b", "\u00e9", "\U0001f600", "\"\\", "\x00\x1f", "https:\\/\\/x"] + LONE),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
    st.sampled_from([Raw("1e400"), Raw("-0"), Raw("1E+2"), Raw("0.000001e-400"), Raw("9" * 40)]),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(st.tuples(TEXT, inner), max_size=3).map(Obj),
    ),
    max_leaves=8,
)


FOCUS = [
    "key_use_null", "key_ops_sign", "kid_empty", "no_kid", "crit_b64", "dup_claim", "lone_surrogate",
    "nan", "digits", "deep", "frac_exp", "pad_header", "pad_payload", "typ", "short_max",
]


def deep(depth: int) -> Any:
    value: Any = 0
    for i in range(depth):
        value = [value] if i % 2 else Obj([("d", value)])
    return value


def numeric(draw: Any, base: int) -> Any:
    """A NumericDate close to `base`, in one of many spellings (or not a number at all)."""
    form = draw(
        st.sampled_from(
            ["int"] * 6
            + ["float0", "frac", "tiny_frac", "exp", "exp_frac", "neg_exp", "huge", "huge_neg", "beyond", "i64", "bool", "string", "null", "array", "digits"]
        )
    )
    if form == "int":
        return base
    if form == "float0":
        return Raw(f"{base}.0")
    if form == "frac":
        return Raw(f"{base}.{draw(st.sampled_from(['5', '1', '9', '25', '999999']))}")
    if form == "tiny_frac":
        return Raw(f"{base}.0000000001")
    if form == "exp":
        text = str(abs(base)).rstrip("0") or "0"
        return Raw(f"{'-' if base < 0 else ''}{text[0]}.{text[1:] or '0'}e{len(str(abs(base))) - 1}")
    if form == "exp_frac":
        return Raw(f"{base}5e-1")
    if form == "neg_exp":
        return Raw(f"{base}0000E-4")
    if form == "huge":
        return Raw(draw(st.sampled_from(["1e400", "1e20", "18446744073709551616", "9" * 30])))
    if form == "huge_neg":
        return Raw(draw(st.sampled_from(["-1e400", "-1e20", "-9223372036854775809", "-" + "9" * 30])))
    if form == "beyond":
        return Raw(draw(st.sampled_from(["1e-400", "-0", "0", "-0.5", "0.5"])))
    if form == "i64":
        return Raw(draw(st.sampled_from(["9223372036854775807", "9223372036854775807.5", "-9223372036854775808"])))
    if form == "bool":
        return draw(st.booleans())
    if form == "string":
        return str(base)
    if form == "null":
        return None
    if form == "array":
        return [base]
    return Raw(str(base) + "0" * draw(st.integers(0, 3)))


def time_offset(draw: Any, leeway: int) -> int:
    return draw(
        st.one_of(
            st.sampled_from([-leeway - 2, -leeway - 1, -leeway, -leeway + 1, -1, 0, 1, 2, leeway - 1, leeway, leeway + 1]),
            st.integers(-100_000, 100_000),
        )
    )


@st.composite
def claims(draw: Any, leeway: int, chaos: bool, required: List[str]) -> Obj:
    payload = Obj()
    iss = ISSUER if not chaos else draw(
        st.sampled_from([ISSUER] * 8 + [ISSUER + "/", ISSUER.upper(), "https://evil.example.com/t/acme", 5, None, [ISSUER], ""])
    )
    payload.append(("iss", iss))
    aud = draw(st.sampled_from([AUDIENCE, [AUDIENCE], [OTHER_AUDIENCE, AUDIENCE]])) if not chaos else draw(
        st.sampled_from(
            [AUDIENCE] * 6
            + [[AUDIENCE], [OTHER_AUDIENCE, AUDIENCE], ["x"], [], "x", 5, [5], None, [AUDIENCE, 5], Obj(), "", [AUDIENCE, None]]
        )
    )
    payload.append(("aud", aud))
    exp = NOW + 3600 if draw(st.booleans()) else NOW + time_offset(draw, leeway)
    payload.append(("exp", numeric(draw, exp) if draw(st.integers(0, 3)) == 0 else exp))
    for name in ("nbf", "iat"):
        if (not chaos and name in required) or draw(st.booleans()):
            t = NOW - 60 if draw(st.booleans()) else NOW + time_offset(draw, leeway)
            payload.append((name, numeric(draw, t) if draw(st.integers(0, 3)) == 0 else t))
    if (not chaos and "sub" in required) or draw(st.booleans()):
        payload.append(("sub", draw(st.one_of(st.just("user-1"), JSON_VALUES)) if chaos else "user-1"))
    if (not chaos and "jti" in required) or draw(st.booleans()):
        payload.append(("jti", draw(st.one_of(st.just("id-1"), JSON_VALUES)) if chaos else "id-1"))
    for _ in range(draw(st.integers(0, 3))):
        plain = st.one_of(st.integers(), st.text(max_size=8))
        payload.append((draw(TEXT if chaos else st.text(max_size=8)), draw(JSON_VALUES if chaos else plain)))
    return payload


def mutate_object(draw: Any, obj: Obj, names: List[str]) -> None:
    """Remove, retype, duplicate or add members (in place)."""
    for _ in range(draw(st.integers(0, 2))):
        op = draw(st.sampled_from(["remove", "retype", "duplicate", "duplicate_same", "add", "deep"]))
        name = draw(st.sampled_from(names + obj.names() if obj else names))
        if op == "remove":
            obj.remove(name)
        elif op == "retype":
            obj.set(name, draw(JSON_VALUES))
        elif op == "duplicate":
            obj.insert(draw(st.integers(0, len(obj))), (name, draw(JSON_VALUES)))
        elif op == "duplicate_same" and name in obj.names():
            obj.append((name, obj.get(name)))
        elif op == "add":
            obj.append((draw(TEXT), draw(JSON_VALUES)))
        elif op == "deep":
            obj.append(("x", deep(draw(st.sampled_from([30, 31, 32, 33, 40])))))


def encode_document(draw: Any, value: Any, rnd: random.Random) -> bytes:
    writer = Writer(
        rnd,
        escape=draw(st.sampled_from(["plain"] * 4 + ["ascii", "mixed"])),
        space=draw(st.sampled_from([0.0] * 4 + [0.3])),
    )
    text = writer.document(value)
    enc = draw(st.sampled_from(["utf8"] * 24 + ["bom", "utf16", "surrogatepass", "trailing"]))
    if enc == "bom":
        return b"\xef\xbb\xbf" + text.encode("utf-8", "surrogatepass")
    if enc == "utf16":
        return text.encode("utf-16-le", "surrogatepass")
    if enc == "surrogatepass":
        return text.replace('"', '"\ud800', 1).encode("utf-8", "surrogatepass")
    if enc == "trailing":
        return text.encode("utf-8", "surrogatepass") + draw(st.sampled_from([b" x", b"}", b",", b" \n", b"\x00"]))
    return text.encode("utf-8", "surrogatepass")


def b64_segment(draw: Any, chaos: bool, raw: bytes) -> bytes:
    seg = b64url(raw).encode("ascii")
    if not chaos:
        return seg
    edit = draw(st.sampled_from(["none"] * 30 + ["pad", "trailing_bits", "std_alphabet", "foreign", "overpad"]))
    if edit == "pad":
        return seg + b"=" * (-len(seg) % 4)
    if edit == "overpad":
        return seg + b"===="
    if edit == "trailing_bits" and len(seg) % 4:
        alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        last = alphabet.index(seg[-1:])
        unused = 4 if len(seg) % 4 == 2 else 2
        return seg[:-1] + alphabet[last | draw(st.integers(1, (1 << unused) - 1))].to_bytes(1, "big")
    if edit == "std_alphabet":
        return seg.replace(b"-", b"+").replace(b"_", b"/")
    if edit == "foreign":
        pos = draw(st.integers(0, len(seg)))
        return seg[:pos] + draw(st.sampled_from([b" ", b"\n", b"!", b"=", b"."])) + seg[pos:]
    return seg


@st.composite
def jwk_for(draw: Any, key: rsa.RSAPrivateKey, kid: Any, chaos: bool) -> Obj:
    numbers = key.public_key().public_numbers()
    jwk = Obj([("kty", "RSA")])
    if kid is not None:
        jwk.append(("kid", kid))
    for name, value in (("use", "sig"), ("alg", "RS256")):
        if draw(st.booleans()):
            jwk.append((name, value))
    n, e = b64url_uint(numbers.n), b64url_uint(numbers.e)
    enc = "plain" if not chaos else draw(st.sampled_from(["plain"] * 8 + ["padded", "std", "leading_zero", "whitespace", "int"]))
    if enc == "padded":
        n, e = n + "=" * (-len(n) % 4), e + "=" * (-len(e) % 4)
    elif enc == "std":
        n = n.replace("-", "+").replace("_", "/")
    elif enc == "leading_zero":
        n = b64url(b"\x00" + uint_bytes(numbers.n))
    elif enc == "whitespace":
        n = n[:10] + " " + n[10:]
    jwk.append(("n", numbers.n if enc == "int" else n))
    jwk.append(("e", e))
    for _ in range(draw(st.integers(0, 2)) if chaos and draw(st.integers(0, 2)) == 0 else 0):
        op = draw(
            st.sampled_from(
                ["use", "alg", "key_ops", "kid_type", "kid_long", "private", "kty", "x5t", "extra", "remove_e", "even_e"]
            )
        )
        if op == "use":
            jwk.set("use", draw(st.sampled_from(["sig", "enc", None, 1, "SIG", ["sig"]])))
        elif op == "alg":
            jwk.set("alg", draw(st.sampled_from(["RS256", "RS512", "PS256", "none", None, "rs256", 5, ""])))
        elif op == "key_ops":
            jwk.set("key_ops", draw(st.sampled_from([["verify"], ["sign"], [], "verify", [1], ["sign", "verify"], None])))
        elif op == "kid_type":
            jwk.set("kid", draw(st.sampled_from([5, None, ["k"], True, ""])))
        elif op == "kid_long":
            jwk.set("kid", "k" * draw(st.sampled_from([256, 257, 300])))
        elif op == "private":
            # A private member with a made-up value: never the key's real private numbers.
            jwk.set(draw(st.sampled_from(["d", "p", "q", "dp", "dq", "qi", "oth"])), draw(st.sampled_from(["AQAB", "", None, "Zm9v"])))
        elif op == "kty":
            jwk.set("kty", draw(st.sampled_from(["rsa", "EC", None, "", "oct"])))
        elif op == "x5t":
            jwk.set("x5t", draw(st.sampled_from(["thumb", 5, None])))
        elif op == "extra":
            jwk.append((draw(TEXT), draw(JSON_VALUES)))
        elif op == "remove_e":
            jwk.remove("e")
        elif op == "even_e":
            jwk.set("e", b64url_uint(draw(st.sampled_from([1, 2, 4, 65538, 2**32 + 1, 2**33 + 1]))))
    if chaos and draw(st.integers(0, 29)) == 0:
        jwk.insert(draw(st.integers(0, len(jwk))), (draw(st.sampled_from(["n", "kid", "kty", "e"])), draw(JSON_VALUES)))
    return jwk


@st.composite
def cases(draw: Any) -> Tuple[Case, Dict[str, Any]]:
    rnd = random.Random(draw(st.integers(0, 2**32 - 1)))
    # Half of the cases are "clean": only the key, kid, times and options vary.
    chaos = draw(st.booleans())
    leeway = draw(st.sampled_from([0, 0, 1, 30]))
    required = ["iss", "aud"] + [c for c in ("exp", "nbf", "iat", "sub", "jti") if draw(st.integers(0, 2)) == 0 or (c == "exp" and draw(st.booleans()))]
    signer = draw(st.sampled_from([0, 0, 1, 2, 3, 4]))
    kid = draw(st.sampled_from(["k1", "k1", "k1", "key-\u00e9", "k/\u00e9\U0001f600", "", "k" * 256]))
    # The key set: the signer's key and up to two decoys, in any order.
    keys_list: List[Any] = [draw(jwk_for(pool_key(signer), kid, chaos))]
    for _ in range(draw(st.integers(0, 2))):
        decoy = draw(st.sampled_from([i for i in range(len(POOL)) if i != signer]))
        decoy_kid = draw(st.sampled_from(["k2", "k3", kid, None]))
        keys_list.insert(draw(st.integers(0, len(keys_list))), draw(jwk_for(pool_key(decoy), decoy_kid, chaos)))
    if chaos and draw(st.integers(0, 15)) == 0:
        keys_list.insert(draw(st.integers(0, len(keys_list))), draw(st.sampled_from([None, 5, "k", [], Obj()])))
    # A quarter of the clean cases get exactly one mutation aimed at a documented difference, so
    # that each one is exercised on an otherwise valid token.
    focus = "none" if chaos else draw(st.sampled_from(["none"] * 9 + FOCUS))
    if focus == "key_use_null":
        keys_list[0].set("use", None)
    elif focus == "key_ops_sign":
        keys_list[0].set("key_ops", ["sign"])
    elif focus == "kid_empty":
        keys_list[0].set("kid", "")
    jwks_obj = Obj([("keys", keys_list)])
    if chaos and draw(st.integers(0, 9)) == 0:
        jwks_obj.insert(
            draw(st.integers(0, 1)), draw(st.sampled_from([("keys", []), ("other", 1), ("keys", keys_list[:1])]))
        )
    jwks = encode_document(draw, jwks_obj, rnd) if chaos and draw(st.integers(0, 5)) == 0 else Writer(rnd).document(jwks_obj).encode("utf-8", "surrogatepass")

    # The header.
    header = Obj([("alg", "RS256")])
    if draw(st.booleans()):
        header.append(("typ", draw(st.sampled_from(["JWT", "at+jwt", "application/at+JWT", "jwt", "JOSE"]))))
    header_kid = "same" if not chaos else draw(st.sampled_from(["same"] * 6 + ["none", "other", "int", "null", "empty", "list"]))
    header_kid_value = {"same": kid, "other": "nope", "int": 5, "null": None, "empty": "", "list": [kid]}.get(header_kid)
    if header_kid != "none":
        header.append(("kid", header_kid_value))
    if chaos and draw(st.integers(0, 3)) == 0:
        op = draw(st.sampled_from(["alg", "crit", "b64", "x5t", "jku", "jwk", "x5c", "extra"]))
        if op == "alg":
            header.set("alg", draw(st.sampled_from(["rs256", "none", "HS256", "PS256", "RS512", None, 5, ["RS256"], ""])))
        elif op == "crit":
            header.append(("crit", draw(st.sampled_from([["b64"], [], ["exp"], "b64", [5]]))))
            if draw(st.booleans()):
                header.append(("b64", draw(st.booleans())))
        elif op == "b64":
            header.append(("b64", draw(st.sampled_from([True, False, "false"]))))
        elif op == "x5t":
            header.append(("x5t", draw(st.sampled_from(["thumb", 5, "other"]))))
        elif op == "jku":
            header.append(("jku", "https://evil.example.com/jwks"))
        elif op == "jwk":
            header.append(("jwk", Obj([("kty", "RSA"), ("n", "AQAB"), ("e", "AQAB")])))
        elif op == "x5c":
            header.append(("x5c", ["MIIB"]))
        else:
            header.append((draw(TEXT), draw(JSON_VALUES)))
    if chaos and draw(st.integers(0, 7)) == 0:
        mutate_object(draw, header, ["alg", "kid", "typ"])

    if focus == "no_kid":
        header.remove("kid")
    elif focus == "crit_b64":
        header.extend([("crit", ["b64"]), ("b64", True)])
    payload = draw(claims(leeway, chaos, required))
    if focus == "dup_claim":
        payload.append((draw(st.sampled_from(["iss", "aud", "sub", "x"])), payload.get("iss")))
    elif focus == "lone_surrogate":
        payload.append(("x", draw(st.sampled_from(LONE))))
    elif focus == "nan":
        payload.append(("x", draw(st.sampled_from([Raw("NaN"), Raw("Infinity"), Raw("-Infinity")]))))
    elif focus == "digits":
        payload.append(("x", Raw("1" * 4301)))
    elif focus == "deep":
        payload.append(("x", deep(draw(st.sampled_from([31, 32, 33])))))
    elif focus == "frac_exp":
        payload.set("exp", Raw(f"{NOW + time_offset(draw, leeway)}.5"))
    if chaos and draw(st.integers(0, 3)) == 0:
        mutate_object(draw, payload, ["iss", "aud", "exp", "nbf", "iat", "sub", "jti"])
    if chaos and draw(st.integers(0, 30)) == 0:
        payload.append(("big", "x" * draw(st.sampled_from([4000, 8000]))))
    if chaos and draw(st.integers(0, 40)) == 0:
        payload.append(("digits", Raw("1" * draw(st.sampled_from([4300, 4301, 5000])))))

    header_seg = b64_segment(draw, chaos, encode_document(draw, header, rnd) if chaos and draw(st.integers(0, 3)) == 0 else Writer(rnd).document(header).encode("utf-8", "surrogatepass"))
    payload_seg = b64_segment(draw, chaos, encode_document(draw, payload, rnd) if chaos and draw(st.integers(0, 2)) == 0 else Writer(rnd).document(payload).encode("utf-8", "surrogatepass"))
    if focus == "pad_header":
        header_seg += b"=" * (-len(header_seg) % 4)
    elif focus == "pad_payload":
        payload_seg += b"=" * (-len(payload_seg) % 4)
    signing_input = header_seg + b"." + payload_seg
    sign_with = signer if not chaos or draw(st.integers(0, 15)) else draw(st.sampled_from(range(len(POOL))))
    sig = pool_key(sign_with).sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    sig_seg = b64url(sig).encode("ascii")

    # Segment edits after signing.
    edit = "none" if not chaos else draw(st.sampled_from(["none"] * 8 + ["flip", "truncate", "extend", "pad", "std", "drop", "add", "swap", "empty_sig", "empty_header", "strip_zero", "leading_zero", "whitespace"]))
    token = signing_input + b"." + sig_seg
    if edit == "flip":
        pos = draw(st.integers(0, len(sig) * 8 - 1))
        s = bytearray(sig)
        s[pos // 8] ^= 1 << (pos % 8)
        token = signing_input + b"." + b64url(bytes(s)).encode()
    elif edit == "truncate":
        token = token[: -draw(st.integers(1, 8))]
    elif edit == "extend":
        token = token + draw(st.sampled_from([b"A", b"AA", b"AAAA", b"."]))
    elif edit == "pad":
        token = token + b"=" * (-len(sig_seg) % 4)
    elif edit == "std":
        token = signing_input + b"." + sig_seg.replace(b"-", b"+").replace(b"_", b"/")
    elif edit == "drop":
        token = draw(st.sampled_from([signing_input, header_seg + b"." + sig_seg, payload_seg + b"." + sig_seg]))
    elif edit == "add":
        token = token + b"." + draw(st.sampled_from([b"", b"e30", sig_seg]))
    elif edit == "swap":
        token = payload_seg + b"." + header_seg + b"." + sig_seg
    elif edit == "empty_sig":
        token = signing_input + b"."
    elif edit == "empty_header":
        token = b"." + payload_seg + b"." + sig_seg
    elif edit == "strip_zero":
        token = signing_input + b"." + b64url(sig.lstrip(b"\x00")).encode()
    elif edit == "leading_zero":
        token = signing_input + b"." + b64url(b"\x00" + sig).encode()
    elif edit == "whitespace":
        token = b" " + token if draw(st.booleans()) else token + b"\n"

    typ = draw(st.sampled_from([None] * 6 + ["at+jwt", "JWT"])) if chaos else ("at+jwt" if focus == "typ" else None)
    max_len = draw(st.sampled_from([8192] * 8 + [600, 1000])) if chaos else (600 if focus == "short_max" else 8192)
    audiences = [AUDIENCE] if draw(st.booleans()) else [OTHER_AUDIENCE, AUDIENCE]
    case = Case(token, jwks, ISSUER, audiences, leeway, required, typ, max_len, NOW)
    return case, {"chaos": chaos, "focus": focus, "signer": POOL[signer], "sign_with": POOL[sign_with], "edit": edit}


def repro(case: Case, info: Dict[str, Any]) -> str:
    return (
        "\n  token: " + case.token.decode("latin-1")
        + "\n  jwks (public material only): " + case.jwks.decode("latin-1")
        + f"\n  issuer={case.issuer!r} audiences={case.audiences!r} leeway={case.leeway} required={case.required!r}"
        + f" typ={case.typ!r} max_token_len={case.max_token_len} now={case.now}"
        + f"\n  header (PyJWT's reading): {case.header()!r}\n  payload (PyJWT's reading): {case.payload()!r}"
        + f"\n  generator: {info}"
    )


@settings(max_examples=examples(300, 20000))
@given(cases())
def test_pyjwt_disagreements_are_documented(generated: Tuple[Case, Dict[str, Any]]) -> None:
    case, info = generated
    case.cg_code, cg_claims = cg_decide(case)
    case.py_error, py_claims = pyjwt_decide(case)
    note(repro(case, info))

    # The core's key policy is SPEC §4's (the mirror used by the key_selection predicate).
    try:
        cg_kids = cryptr_guard.KeySet.from_jwks(case.jwks).kids
    except cryptr_guard.CryptrGuardError:
        cg_kids = None
    data = case.jwks_data()
    if cg_kids is not None and data is not None:
        mirror = [data["keys"][i].get("kid") for i in spec_usable_keys(data)]
        assert cg_kids == mirror, f"usable keys: core {cg_kids!r}, SPEC §4 mirror {mirror!r}" + repro(case, info)

    outcome = f"cg={'accept' if case.cg_ok else case.cg_code} pyjwt={'accept' if case.py_ok else case.py_error}"
    STATS[f"pyjwt: {'chaos' if info['chaos'] else 'clean'} cases"] += 1
    STATS[f"pyjwt: both {'accept' if case.cg_ok and case.py_ok else 'reject'}" if case.cg_ok == case.py_ok else "pyjwt: disagree"] += 1
    if case.cg_ok and case.py_ok:
        assert cg_claims == py_claims, "both accept but the claims differ" + repro(case, info)
        return
    if case.cg_ok == case.py_ok:
        STATS[f"pyjwt: reject cg={case.cg_code}"] += 1
        return
    reasons = explain(case)
    assert reasons, f"undocumented disagreement: {outcome}" + repro(case, info)
    for reason in reasons:
        STATS[f"pyjwt: explained by {reason} ({'cg rejects' if case.py_ok else 'cg accepts'})"] += 1
