"""The documented, intended differences between cryptr_guard (SPEC) and PyJWT 2.15.1.

Each `Difference` is a predicate over one differential case, with the direction it explains
("cg_rejects": cryptr_guard rejects what PyJWT accepts; "cg_accepts": the opposite; "either")
and the SECURITY.md section ("Deliberate differences from python-jose and PyJWT", table row
named by `row`) that documents it. A disagreement between the two libraries that no predicate
explains fails the test. Predicates read the *input* (token, JWKS, options), never how it was
generated."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Dict, List, Optional, Tuple

import jwt
from jwt.api_jwk import PyJWKSet
from jwt.api_jws import PyJWS
from jwt.jwks_client import PyJWKClient

SECURITY = "SECURITY.md, 'Deliberate differences from python-jose and PyJWT'"
I64_MIN, I64_MAX = -(2**63), 2**63 - 1
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth")


@dataclass
class Case:
    token: bytes
    jwks: bytes
    issuer: str
    audiences: List[str]
    leeway: int
    required: List[str]
    typ: Optional[str]
    max_token_len: int
    now: int
    cg_code: Optional[str] = None  # None: accepted
    py_error: Optional[str] = None  # None: accepted
    _memo: Dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def cg_ok(self) -> bool:
        return self.cg_code is None

    @property
    def py_ok(self) -> bool:
        return self.py_error is None

    def segments(self) -> Optional[List[bytes]]:
        parts = self.token.split(b".")
        return parts if len(parts) == 3 else None

    def decoded(self, index: int) -> Optional[bytes]:
        """A token segment as PyJWT decodes it (its lenient base64url), or None."""
        parts = self.segments()
        if parts is None:
            return None
        try:
            return PyJWS._decode_base64url_segment(parts[index], "segment")
        except jwt.DecodeError:
            return None

    def header(self) -> Optional[Dict[str, Any]]:
        return _loads_object(self.decoded(0))

    def payload(self) -> Optional[Dict[str, Any]]:
        return _loads_object(self.decoded(1))

    def jwks_data(self) -> Any:
        try:
            return json.loads(self.jwks)
        except (ValueError, RecursionError):
            return None


def _loads_object(raw: Optional[bytes]) -> Optional[Dict[str, Any]]:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


class _Pairs(dict):  # type: ignore[type-arg]
    duplicated = False


def _pairs_hook(pairs: List[Tuple[str, Any]]) -> _Pairs:
    obj = _Pairs(pairs)
    obj.duplicated = len(obj) != len(pairs)
    return obj


def _duplicated_top(raw: Optional[bytes]) -> bool:
    if raw is None:
        return False
    try:
        value = json.loads(raw, object_pairs_hook=_pairs_hook)
    except (ValueError, RecursionError):
        return False
    return isinstance(value, _Pairs) and value.duplicated


def _duplicated_key_object(raw: bytes) -> bool:
    try:
        value = json.loads(raw, object_pairs_hook=_pairs_hook)
    except (ValueError, RecursionError):
        return False
    keys = value.get("keys") if isinstance(value, dict) else None
    return isinstance(keys, list) and any(isinstance(k, _Pairs) and k.duplicated for k in keys)


def not_strict_json(raw: Optional[bytes]) -> bool:
    """Python's json accepts `raw` but SPEC §6 does not: not plain UTF-8 (a BOM, UTF-16/32,
    encoded surrogates), `NaN`/`Infinity`, a string with a lone surrogate, depth over 32."""
    if raw is None:
        return False
    try:
        json.loads(raw)
    except (ValueError, RecursionError):
        return False
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    if text.startswith("\ufeff"):
        return True
    constants: List[str] = []

    def constant(name: str) -> float:
        constants.append(name)
        return 0.0

    try:
        value = json.loads(text, parse_constant=constant)
    except (ValueError, RecursionError):
        return True
    if constants:
        return True
    return _depth_or_surrogate(value, 1)


def _depth_or_surrogate(value: Any, depth: int) -> bool:
    if isinstance(value, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, (list, dict)) and depth > 32:
        return True
    if isinstance(value, list):
        return any(_depth_or_surrogate(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return any(_depth_or_surrogate(k, depth) or _depth_or_surrogate(v, depth + 1) for k, v in value.items())
    return False


_KEY_CHARS = re.compile(r"\A[A-Za-z0-9+/_-]+={0,2}\Z")


def _key_int(text: Any) -> Optional[int]:
    """SPEC §4 lenient key base64 (url or standard alphabet, optional padding)."""
    if not isinstance(text, str) or not _KEY_CHARS.match(text):
        return None
    body = text.rstrip("=")
    if ("=" in text and len(text) % 4) or len(body) % 4 == 1:
        return None
    body = body.replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(body + "=" * (-len(body) % 4))
    except binascii.Error:
        return None
    return int.from_bytes(raw, "big")


def spec_usable(key: Any, min_bits: int = 2048) -> bool:
    """SPEC §4: is this key object usable for RS256?"""
    if not isinstance(key, dict) or key.get("kty") != "RSA":
        return False
    n, e = _key_int(key.get("n")), _key_int(key.get("e"))
    if n is None or e is None or not (min_bits <= n.bit_length() <= 8192) or n % 2 == 0:
        return False
    if e % 2 == 0 or not (3 <= e < 2**32):
        return False
    if "use" in key and key["use"] != "sig":
        return False
    if "alg" in key and key["alg"] != "RS256":
        return False
    if "key_ops" in key:
        ops = key["key_ops"]
        if not isinstance(ops, list) or not all(isinstance(o, str) for o in ops) or "verify" not in ops:
            return False
    if any(m in key for m in PRIVATE_MEMBERS):
        return False
    if "kid" in key and (not isinstance(key["kid"], str) or len(key["kid"].encode("utf-8", "surrogatepass")) > 256):
        return False
    return True


def spec_usable_keys(data: Any) -> List[int]:
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(keys, list):
        return []
    return [i for i, k in enumerate(keys) if spec_usable(k)]


def spec_selected(case: Case) -> Optional[int]:
    """SPEC §2 step 7: the index of the key cryptr_guard uses, None when it has none."""
    header, data = case.header(), case.jwks_data()
    if header is None or data is None:
        return None
    usable = spec_usable_keys(data)
    keys = data["keys"] if usable else []
    kid = header.get("kid")
    if "kid" in header:
        if not isinstance(kid, str):
            return None
        return next((i for i in usable if keys[i].get("kid") == kid), None)
    x5t = header.get("x5t")
    if isinstance(x5t, str):
        return next((i for i in usable if keys[i].get("x5t") == x5t), None)
    return usable[0] if len(usable) == 1 else None


def pyjwt_selected(case: Case) -> Optional[int]:
    """The index of the key PyJWKClient picks for this token (PyJWT's own code), or None."""
    header, data = case.header(), case.jwks_data()
    if header is None or not isinstance(data, dict):
        return None
    try:
        keys = PyJWKClient._get_signing_keys_from_jwk_set(PyJWKSet.from_dict(data))
        found = PyJWKClient.match_kid(keys, header.get("kid"))
    except Exception:  # noqa: BLE001 - any failure means "no key" for PyJWT
        return None
    if found is None:
        return None
    return next(i for i, k in enumerate(data["keys"]) if k is found._jwk_data)


def _exact_numbers(raw: Optional[bytes]) -> Optional[Dict[str, Any]]:
    if raw is None:
        return None
    try:
        value = json.loads(raw, parse_float=Decimal, parse_int=Decimal)
    except (ValueError, RecursionError, ArithmeticError):
        return None
    return value if isinstance(value, dict) else None


def _ceil_clamp(x: Decimal) -> int:
    if x.is_nan():
        raise ValueError
    if x.is_infinite():
        return I64_MAX if x > 0 else I64_MIN
    value = int(x.to_integral_value(rounding="ROUND_CEILING"))
    return max(I64_MIN, min(I64_MAX, value))


def typ_matches(expected: str, got: Any) -> bool:
    """SPEC §1 `typ`: ASCII-case-insensitive, an `application/` prefix ignored on both sides."""

    def norm(s: str) -> str:
        s = "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in s)
        return s[len("application/") :] if s.startswith("application/") else s

    return isinstance(got, str) and norm(got) == norm(expected)


# ---------------------------------------------------------------------------------------------
# The differences
# ---------------------------------------------------------------------------------------------


def duplicate_members(case: Case) -> bool:
    return (
        _duplicated_top(case.decoded(0))
        or _duplicated_top(case.decoded(1))
        or _duplicated_top(case.jwks)
        or _duplicated_key_object(case.jwks)
    )


def base64_padding(case: Case) -> bool:
    parts = case.segments()
    return parts is not None and any(b"=" in p for p in parts)


def json_grammar(case: Case) -> bool:
    return not_strict_json(case.decoded(0)) or not_strict_json(case.decoded(1)) or not_strict_json(case.jwks)


def key_selection(case: Case) -> bool:
    return spec_selected(case) != pyjwt_selected(case)


def typ_checked(case: Case) -> bool:
    header = case.header()
    return case.typ is not None and header is not None and not typ_matches(case.typ, header.get("typ"))


def crit_rejected(case: Case) -> bool:
    header = case.header()
    return header is not None and "crit" in header


def token_length(case: Case) -> bool:
    return len(case.token) > case.max_token_len


def numeric_date(case: Case) -> bool:
    """A time claim for which PyJWT's `int(value)` (truncation, booleans, numeric strings,
    failure beyond binary64) differs from SPEC's exact value rounded up and clamped to i64."""
    raw = case.decoded(1)
    plain, exact = _loads_object(raw), _exact_numbers(raw)
    if plain is None:
        return False
    for claim in ("exp", "nbf", "iat"):
        if claim not in plain:
            continue
        value = plain[claim]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return True
        try:
            pyjwt_value = int(value)
        except (ValueError, OverflowError):
            return True
        if exact is None or not isinstance(exact.get(claim), Decimal):
            return True
        if pyjwt_value != _ceil_clamp(exact[claim]):
            return True
    return False


def _python_int_limit(raw: Optional[bytes]) -> bool:
    if raw is None:
        return False
    try:
        json.loads(raw)
    except ValueError:
        try:
            json.loads(raw, parse_int=Decimal)
        except (ValueError, RecursionError):
            return False
        return True
    except RecursionError:
        return False
    return False


def python_int_limit(case: Case) -> bool:
    """Python's json refuses integers of more than `sys.get_int_max_str_digits()` (4300) digits;
    SPEC §6 has no such limit (cryptr_guard hands such a claim over as a float)."""
    return _python_int_limit(case.decoded(0)) or _python_int_limit(case.decoded(1)) or _python_int_limit(case.jwks)


@dataclass(frozen=True)
class Difference:
    name: str
    row: str  # the row of SECURITY.md's differences table
    direction: str  # "cg_rejects", "cg_accepts" or "either"
    predicate: Callable[[Case], bool]

    def explains(self, case: Case) -> bool:
        if self.direction == "cg_rejects" and not (case.py_ok and not case.cg_ok):
            return False
        if self.direction == "cg_accepts" and not (case.cg_ok and not case.py_ok):
            return False
        return self.predicate(case)


DIFFERENCES: List[Difference] = [
    Difference("duplicate_members", "duplicate member names", "cg_rejects", duplicate_members),
    Difference("base64_padding", "base64url", "cg_rejects", base64_padding),
    Difference("json_grammar", "JSON grammar", "cg_rejects", json_grammar),
    Difference("python_int_limit", "JSON grammar", "cg_accepts", python_int_limit),
    Difference("key_selection", "key policy", "either", key_selection),
    Difference("typ", "`typ`", "cg_rejects", typ_checked),
    Difference("crit", "`crit`", "cg_rejects", crit_rejected),
    Difference("token_length", "token length", "cg_rejects", token_length),
    Difference("numeric_date", "NumericDate values", "either", numeric_date),
]


def explain(case: Case) -> List[str]:
    """The names of the documented differences that explain this case's disagreement."""
    return [d.name for d in DIFFERENCES if d.explains(case)]
