"""The exceptions of cryptr_guard: one class per SPEC §3 code, mapped in one place (``ERRORS``),
and ``SettingError`` for a ``CRYPTR_*`` setting that cannot be used.

The compiled module raises them through :func:`error_for` (and ``SettingError``); nothing else maps
a code to a class. An exception raised by the compiled module carries the HTTP answer the core
gives the refusal (``answer``: status, body, headers), so that no layer maps codes to statuses
again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Dict, Optional, Type

if TYPE_CHECKING:  # the compiled module imports this one: no import of it at run time
    from ._native import HttpAnswer

__all__ = [
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
    "ERRORS",
    "error_for",
]


class CryptrGuardError(ValueError):
    """A token, key set or request was refused. ``code`` is the SPEC §3 string (stable, the same
    in every language); ``description`` is a human explanation (free to change, never contains
    token or key material); ``answer`` is the HTTP answer (SPEC §3 "HTTP mapping") the core gives
    this refusal, when the compiled module raised it (``http_answer(code)`` otherwise)."""

    code: ClassVar[str] = "error"
    default_description: ClassVar[str] = "the token was refused"

    description: str
    retry_after: Optional[int]
    answer: Optional[HttpAnswer]

    def __init__(
        self,
        description: Optional[str] = None,
        *,
        retry_after: Optional[int] = None,
        answer: Optional[HttpAnswer] = None,
    ) -> None:
        if description is None:
            description = self.default_description
        super().__init__(description)
        self.description = description
        self.retry_after = retry_after
        self.answer = answer

    def __str__(self) -> str:
        return f"{self.code}: {self.description}"


class MalformedToken(CryptrGuardError):
    """Not a well-formed compact JWS/JWT."""

    code = "malformed_token"
    default_description = "the token is not a well-formed compact JWS"


class UnsupportedAlgorithm(CryptrGuardError):
    """``alg`` is not ``RS256``."""

    code = "unsupported_algorithm"
    default_description = "the token's algorithm is not RS256"


class UnknownKey(CryptrGuardError):
    """No usable key in the set matches the token's ``kid``/``x5t``."""

    code = "unknown_key"
    default_description = "no usable key in the key set matches the token"


class InvalidSignature(CryptrGuardError):
    """The signature does not verify."""

    code = "invalid_signature"
    default_description = "the token's signature does not verify"


class InvalidClaim(CryptrGuardError):
    """A registered claim has the wrong JSON type."""

    code = "invalid_claim"
    default_description = "a registered claim has the wrong type"


class MissingClaim(CryptrGuardError):
    """A required claim is absent."""

    code = "missing_claim"
    default_description = "a required claim is missing"


class TokenExpired(CryptrGuardError):
    """``exp`` has passed."""

    code = "token_expired"
    default_description = "the token has expired"


class TokenNotYetValid(CryptrGuardError):
    """``nbf`` or ``iat`` is in the future."""

    code = "token_not_yet_valid"
    default_description = "the token is not valid yet"


class InvalidIssuer(CryptrGuardError):
    """``iss`` is not an accepted issuer."""

    code = "invalid_issuer"
    default_description = "the token's issuer is not the expected one"


class InvalidAudience(CryptrGuardError):
    """No accepted audience in ``aud``."""

    code = "invalid_audience"
    default_description = "the token is not meant for this audience"


class InvalidJwks(CryptrGuardError):
    """The JWKS document itself is unusable."""

    code = "invalid_jwks"
    default_description = "the issuer's key set is unusable"


class JwksUnavailable(CryptrGuardError):
    """No key set could be fetched and none is cached (``retry_after``: seconds)."""

    code = "jwks_unavailable"
    default_description = "no key set could be fetched from the issuer"


class AuthorizationHeaderMissing(CryptrGuardError):
    """Host code: the request has no ``Authorization`` header (or an empty one)."""

    code = "authorization_header_missing"
    default_description = "Authorization header is required"


class InvalidHeader(CryptrGuardError):
    """Host code: the ``Authorization`` header is not ``Bearer <token>`` (one token, ASCII spaces),
    or the request has several."""

    code = "invalid_header"
    default_description = "Wrong Bearer Authorization header syntax"


class InsufficientScope(CryptrGuardError):
    """The request's token is valid but lacks a scope the route requires: 403, raised by
    ``require_scopes`` with the core's answer (RFC 6750 §3.1 ``insufficient_scope``, the
    challenge naming the required scopes). Not a SPEC §3 token code, so not in ``ERRORS``."""

    code = "insufficient_scope"
    default_description = "the token lacks a required scope"


class SettingError(ValueError):
    """A ``CRYPTR_*`` setting that cannot be used, or settings that cannot work together:
    ``key`` names the setting, ``problem`` says what is expected (neither holds the value)."""

    key: str
    problem: str

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


#: Every SPEC §3 code (host codes included) and its exception class: the one mapping.
ERRORS: Dict[str, Type[CryptrGuardError]] = {
    cls.code: cls
    for cls in (
        MalformedToken,
        UnsupportedAlgorithm,
        UnknownKey,
        InvalidSignature,
        InvalidClaim,
        MissingClaim,
        TokenExpired,
        TokenNotYetValid,
        InvalidIssuer,
        InvalidAudience,
        InvalidJwks,
        JwksUnavailable,
        AuthorizationHeaderMissing,
        InvalidHeader,
    )
}


def error_for(
    code: str,
    description: Optional[str] = None,
    retry_after: Optional[int] = None,
    answer: Optional[HttpAnswer] = None,
) -> CryptrGuardError:
    """The exception for a SPEC §3 ``code`` (``CryptrGuardError`` itself for an unknown code)."""
    cls = ERRORS.get(code)
    if cls is None:
        error = CryptrGuardError(description, retry_after=retry_after, answer=answer)
        error.code = code  # type: ignore[misc]
        return error
    return cls(description, retry_after=retry_after, answer=answer)
