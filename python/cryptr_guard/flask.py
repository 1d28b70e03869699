"""Flask integration: the Cryptr tutorial's ``requires_auth``, on cryptr_guard.

>>> from flask import Flask, g
>>> from cryptr_guard.flask import CryptrGuard, requires_auth
>>> app = Flask(__name__)
>>> app.config.update(CRYPTR_BASE_URL="https://auth.cryptr.eu",
...                   CRYPTR_TENANT_DOMAIN="shark-academy",
...                   CRYPTR_AUDIENCE="http://localhost:8081")
>>> guard = CryptrGuard(app)
>>> @app.route("/api/v1/courses")
... @requires_auth
... def courses():
...     return {"user": g.current_user["sub"]}

Configuration (``app.config``):

- ``CRYPTR_BASE_URL``, ``CRYPTR_TENANT_DOMAIN``, ``CRYPTR_AUDIENCE`` (required): the issuer is
  ``{CRYPTR_BASE_URL}/t/{CRYPTR_TENANT_DOMAIN}``, the key set is fetched from
  ``{CRYPTR_BASE_URL}/t/{CRYPTR_TENANT_DOMAIN}/.well-known`` as in the tutorial;
- ``CRYPTR_AUDIENCES`` (optional list): accepted audiences, in addition to ``CRYPTR_AUDIENCE``;
- ``CRYPTR_LEEWAY`` (seconds, default 0), ``CRYPTR_JWKS_URL`` (overrides the key-set URL),
  ``CRYPTR_ALLOW_HTTP`` (default False: https only; for tests and local development),
  ``CRYPTR_TOKEN_CACHE_SIZE`` (verified-token cache entries, default 10000, 0 disables it),
  ``CRYPTR_JWKS_TIMEOUT`` (seconds, default 5).

Errors follow SPEC §3 "HTTP mapping": a JSON body ``{"code", "error", "description"}`` (``code``
as the tutorial answered it, ``error`` the fine SPEC code), ``WWW-Authenticate`` on every 401,
503 with ``Retry-After`` when no key set can be had. The error response is *returned* by the
decorated view, not raised, so it takes the normal response path: ``flask_cors`` (``CORS(app)``
or ``@cross_origin``) adds its headers to errors exactly as to successes.
"""

from __future__ import annotations

import functools
import re
from contextvars import ContextVar
from inspect import iscoroutinefunction
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, TypeVar, Union, cast

from flask import Flask, Response, current_app, g, jsonify, request

from ._client import JwksClient
from ._errors import AuthorizationHeaderMissing, CryptrGuardError, InvalidHeader
from ._native import Validator

__all__ = ["CryptrGuard", "requires_auth", "requires_scope", "token_scopes", "HTTP_MAPPING"]

F = TypeVar("F", bound=Callable[..., Any])

#: SPEC §3 "HTTP mapping": fine code -> (HTTP status, tutorial-compatible ``code``).
HTTP_MAPPING: Dict[str, Tuple[int, str]] = {
    "authorization_header_missing": (401, "authorization_header_missing"),
    "invalid_header": (401, "invalid_header"),
    "malformed_token": (401, "invalid_header"),
    "unsupported_algorithm": (401, "invalid_header"),
    "invalid_signature": (401, "invalid_header"),
    "unknown_key": (401, "no_rsa_key"),
    "token_expired": (401, "token_expired"),
    "invalid_claim": (401, "invalid_claims"),
    "missing_claim": (401, "invalid_claims"),
    "token_not_yet_valid": (401, "invalid_claims"),
    "invalid_issuer": (401, "invalid_claims"),
    "invalid_audience": (401, "invalid_claims"),
    "jwks_unavailable": (503, "jwks_unavailable"),
    "invalid_jwks": (503, "jwks_unavailable"),
}

_EXTENSION = "cryptr_guard"
# RFC 6750 §3: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
_NOT_IN_DESCRIPTION = re.compile(r'[^\x20\x21\x23-\x5b\x5d-\x7e]')


def _quoted(text: str) -> str:
    return _NOT_IN_DESCRIPTION.sub("'", text)


def error_response(error: CryptrGuardError) -> Response:
    """The HTTP answer for ``error`` (SPEC §3 "HTTP mapping")."""
    status, tutorial_code = HTTP_MAPPING.get(error.code, (401, "invalid_header"))
    response = jsonify({"code": tutorial_code, "error": error.code, "description": error.description})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = (
            f'Bearer error="invalid_token", error_description="{_quoted(error.description)}"'
        )
    elif status == 503:
        response.headers["Retry-After"] = str(max(1, int(error.retry_after or 1)))
    return response


def _bearer_token(header: Optional[str]) -> str:
    """The token of an ``Authorization: Bearer <token>`` header (scheme case-insensitive)."""
    if header is None:
        raise AuthorizationHeaderMissing("Authorization header is expected")
    parts = header.split()
    if not parts or parts[0].lower() != "bearer":
        raise InvalidHeader("Authorization header must start with Bearer")
    if len(parts) == 1:
        raise InvalidHeader("Token not found")
    if len(parts) > 2:
        raise InvalidHeader("Authorization header must be Bearer token")
    return parts[1]


# The request path reads the current app, ``g`` and the WSGI environ from Flask's context variables
# when this Flask has them (2.2 and later), skipping a ``LocalProxy`` hop per access (about 0.4 µs
# each); any other Flask, or no context set, takes the public proxies, with their errors.
try:
    from flask.globals import _cv_app as _app_ctx_var
    from flask.globals import _cv_request as _request_ctx_var
except ImportError:  # pragma: no cover (a Flask without the context variables)
    _app_ctx_var = cast(Any, ContextVar("cryptr_guard.no_app_ctx"))
    _request_ctx_var = cast(Any, ContextVar("cryptr_guard.no_request_ctx"))


def _request_state() -> Tuple[Flask, Any, Optional[str]]:
    """The current app, its ``g`` and the request's ``Authorization`` header."""
    app_ctx = _app_ctx_var.get(None)
    request_ctx = _request_ctx_var.get(None)
    if app_ctx is None or request_ctx is None:
        return current_app._get_current_object(), g._get_current_object(), request.environ.get("HTTP_AUTHORIZATION")  # type: ignore[attr-defined]
    return app_ctx.app, app_ctx.g, request_ctx.request.environ.get("HTTP_AUTHORIZATION")


def _call_view(app: Flask, view: Callable[..., Any], is_async: bool, args: Any, kwargs: Any) -> Any:
    """``app.ensure_sync(view)(*args, **kwargs)``, without the per-request coroutine check when
    the view is a plain function and ``ensure_sync`` is Flask's own."""
    if is_async or type(app).ensure_sync is not Flask.ensure_sync:
        return app.ensure_sync(view)(*args, **kwargs)
    return view(*args, **kwargs)


def _config_list(value: Any) -> List[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in re.split(r"[,\s]+", value) if v]
    return [str(v) for v in value]


def _config_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


class CryptrGuard:
    """The Flask extension: ``CryptrGuard(app)`` or ``guard = CryptrGuard(); guard.init_app(app)``."""

    validator: Validator
    jwks: JwksClient

    def __init__(self, app: Optional[Flask] = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        config = app.config
        missing = [k for k in ("CRYPTR_BASE_URL", "CRYPTR_TENANT_DOMAIN", "CRYPTR_AUDIENCE") if not config.get(k)]
        if missing:
            raise ValueError(f"cryptr_guard: missing configuration: {', '.join(missing)}")
        base_url = str(config["CRYPTR_BASE_URL"])
        tenant = str(config["CRYPTR_TENANT_DOMAIN"])
        issuer = f"{base_url}/t/{tenant}"
        audiences = [str(config["CRYPTR_AUDIENCE"])]
        audiences += [a for a in _config_list(config.get("CRYPTR_AUDIENCES")) if a not in audiences]
        jwks_url = str(config.get("CRYPTR_JWKS_URL") or f"{issuer}/.well-known")
        self.validator = Validator(issuer, audiences, leeway=int(config.get("CRYPTR_LEEWAY", 0) or 0))
        self.jwks = JwksClient(
            jwks_url,
            allow_http=_config_bool(config.get("CRYPTR_ALLOW_HTTP", False)),
            token_cache_size=int(config.get("CRYPTR_TOKEN_CACHE_SIZE", 10000)),
            timeout=float(config.get("CRYPTR_JWKS_TIMEOUT", 5)),
        )
        app.extensions[_EXTENSION] = self

    def validate(self, token: Union[str, bytes]) -> Dict[str, Any]:
        """The claims of ``token``, or the ``CryptrGuardError`` of its SPEC code."""
        return self.jwks.validate(token, self.validator)

    def authenticate(self) -> Dict[str, Any]:
        """The claims of the current request's Bearer token (raises ``CryptrGuardError``)."""
        return self._authenticate_header(request.environ.get("HTTP_AUTHORIZATION"))

    def _authenticate_header(self, header: Optional[str]) -> Dict[str, Any]:
        """The claims of the Bearer token of an ``Authorization`` header value (raises
        ``CryptrGuardError``)."""
        if header is not None:
            parts = header.split()
            if len(parts) == 2 and parts[0].lower() == "bearer":
                return self.jwks.validate(parts[1], self.validator)
        return self.validate(_bearer_token(header))

    def requires_auth(self, view: F) -> F:
        """Decorator: validates the request's Bearer token and puts its claims in
        ``g.current_user``; answers the SPEC §3 error response otherwise."""
        return _protected(view, self)


def _guard(app: Optional[Flask] = None) -> CryptrGuard:
    guard = (current_app if app is None else app).extensions.get(_EXTENSION)
    if guard is None:
        raise RuntimeError("cryptr_guard: CryptrGuard(app) or init_app(app) was not called for this app")
    return cast(CryptrGuard, guard)


def _protected(view: F, guard: Optional[CryptrGuard]) -> F:
    """``view`` behind ``requires_auth``, with ``guard`` (None: the current app's)."""
    is_async = iscoroutinefunction(view)

    @functools.wraps(view)
    def decorated(*args: Any, **kwargs: Any) -> Any:
        app, app_g, header = _request_state()
        current = guard if guard is not None else _guard(app)
        try:
            app_g.current_user = current._authenticate_header(header)
        except CryptrGuardError as error:
            return error_response(error)
        return _call_view(app, view, is_async, args, kwargs)

    return cast(F, decorated)


def requires_auth(view: F) -> F:
    """Decorator, the tutorial's ``@requires_auth``: uses the app's ``CryptrGuard``."""
    return _protected(view, None)


def token_scopes(claims: Dict[str, Any]) -> List[str]:
    """The scopes of a token: its ``scp`` (array, or space-separated string) and its ``scope``
    (space-separated string, or array)."""
    found: List[str] = []
    for name in ("scp", "scope"):
        value = claims.get(name)
        if isinstance(value, str):
            found += value.split()
        elif isinstance(value, list):
            found += [v for v in value if isinstance(v, str)]
    return found


def requires_scope(*scopes: str) -> Callable[[F], F]:
    """Decorator factory: the request must carry a valid token holding every scope in
    ``scopes`` (403 ``insufficient_scope`` otherwise). Authenticates the request itself when
    ``requires_auth`` has not run before it."""
    required: Iterable[str] = tuple(scopes)

    def decorator(view: F) -> F:
        is_async = iscoroutinefunction(view)

        @functools.wraps(view)
        def decorated(*args: Any, **kwargs: Any) -> Any:
            app, app_g, header = _request_state()
            if "current_user" not in app_g:
                try:
                    app_g.current_user = _guard(app)._authenticate_header(header)
                except CryptrGuardError as error:
                    return error_response(error)
            held = set(token_scopes(app_g.current_user))
            lacking = [s for s in required if s not in held]
            if lacking:
                description = "the token lacks a required scope"
                response = jsonify(
                    {"code": "insufficient_scope", "error": "insufficient_scope", "description": description}
                )
                response.status_code = 403
                response.headers["WWW-Authenticate"] = (
                    f'Bearer error="insufficient_scope", error_description="{description}", '
                    f'scope="{_quoted(" ".join(required))}"'
                )
                return response
            return _call_view(app, view, is_async, args, kwargs)

        return cast(F, decorated)

    return decorator
