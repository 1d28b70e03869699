"""cryptr_guard: strict, fast RS256 access-token validation (SPEC of the cryptr-guard project).

The validation logic lives in the Rust core (``cryptr_guard._native``); this package adds the
exceptions, a JWKS client that follows the core's cache policy, and a Flask integration
(``cryptr_guard.flask``, with the ``flask`` extra).

>>> from cryptr_guard import KeySet, Validator
>>> keys = KeySet.from_jwks(b'{"keys": []}')
>>> validator = Validator("https://auth.example.com/t/acme", "https://api.example.com")
"""

from __future__ import annotations

from ._client import JwksClient
from ._errors import (
    ERRORS,
    AuthorizationHeaderMissing,
    CryptrGuardError,
    InvalidAudience,
    InvalidClaim,
    InvalidHeader,
    InvalidIssuer,
    InvalidJwks,
    InvalidSignature,
    JwksUnavailable,
    MalformedToken,
    MissingClaim,
    TokenExpired,
    TokenNotYetValid,
    UnknownKey,
    UnsupportedAlgorithm,
)
from ._native import KeySet, KeySetCache, TokenCache, Validator, Verified, __version__, rs256_verify

__all__ = [
    "__version__",
    "KeySet",
    "Validator",
    "Verified",
    "TokenCache",
    "KeySetCache",
    "JwksClient",
    "rs256_verify",
    "ERRORS",
    "CryptrGuardError",
    "MalformedToken",
    "UnsupportedAlgorithm",
    "UnknownKey",
    "InvalidSignature",
    "InvalidClaim",
    "MissingClaim",
    "TokenExpired",
    "TokenNotYetValid",
    "InvalidIssuer",
    "InvalidAudience",
    "InvalidJwks",
    "JwksUnavailable",
    "AuthorizationHeaderMissing",
    "InvalidHeader",
]
