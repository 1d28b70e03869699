"""cryptr_guard: strict, fast RS256 access-token validation (the cryptr-guard project's SPEC.md).

The validation logic lives in the Rust core (``cryptr_guard._native``): the validator, the key
sets, and the ``Guard`` that serves several issuers from ``CRYPTR_*`` settings, deciding when to
fetch their key sets and how a refusal answers over HTTP. This package adds the exceptions, the
HTTP clients that fetch key sets for a guard (``JwksClient``; ``AsyncJwksClient`` on an event
loop), and the framework integrations, all over one host layer: ``cryptr_guard.flask`` (the
``flask`` extra), ``cryptr_guard.fastapi`` and ``cryptr_guard.starlette`` (``fastapi``),
``cryptr_guard.django`` (``django``: Django REST framework and plain views).

>>> from cryptr_guard import KeySet, Validator
>>> keys = KeySet.from_jwks(b'{"keys": []}')
>>> validator = Validator("https://auth.example.com/t/acme", "https://api.example.com")
"""

from __future__ import annotations

from ._aclient import AsyncJwksClient
from ._client import FetchOutcome, JwksClient
from ._errors import (
    ERRORS,
    AuthorizationHeaderMissing,
    CryptrGuardError,
    InvalidAudience,
    InsufficientScope,
    InvalidClaim,
    InvalidHeader,
    InvalidIssuer,
    InvalidJwks,
    InvalidSignature,
    JwksUnavailable,
    MalformedToken,
    MissingClaim,
    SettingError,
    TokenExpired,
    TokenNotYetValid,
    UnknownKey,
    UnsupportedAlgorithm,
)
from ._native import (
    ALIASES,
    SETTINGS,
    Guard,
    FetchJob,
    HttpAnswer,
    KeySet,
    Pending,
    TokenCache,
    Validator,
    Verified,
    __version__,
    http_answer,
    require_scopes,
    rs256_verify,
)

__all__ = [
    "__version__",
    "KeySet",
    "Validator",
    "Verified",
    "TokenCache",
    "Guard",
    "HttpAnswer",
    "Pending",
    "FetchJob",
    "JwksClient",
    "AsyncJwksClient",
    "FetchOutcome",
    "SETTINGS",
    "ALIASES",
    "http_answer",
    "require_scopes",
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
    "InsufficientScope",
    "SettingError",
]
