"""Flask integration: the Cryptr tutorial's ``requires_auth``, on the cryptr_guard core.

>>> from flask import Flask, g
>>> from cryptr_guard.flask import CryptrGuard, requires_auth
>>> app = Flask(__name__)
>>> app.config.update(CRYPTR_BASE_URL="https://auth.cryptr.eu",
...                   CRYPTR_TENANT_DOMAIN="shark-academy",
...                   CRYPTR_AUDIENCE="http://localhost:8081")
>>> CryptrGuard(app)  # doctest: +ELLIPSIS
<cryptr_guard.flask.CryptrGuard object at ...>
>>> @app.route("/api/v1/courses")
... @requires_auth
... def courses():
...     return {"user": g.current_user["sub"], "tenant": g.cryptr_token.tenant}

Configuration: the ``CRYPTR_*`` settings of ``app.config`` (the table ``cryptr_guard.SETTINGS``),
read and checked once at ``init_app`` by the core: a value that cannot be used raises
``cryptr_guard.SettingError`` naming the key. Python values become the text the core reads by one
rule: ``True``/``False`` → ``"true"``/``"false"``, an ``int`` → its digits, a list or tuple → its
items joined with ``,``, ``None`` → unset. The ``cryptr`` profile applies unless
``CRYPTR_PROFILE=rfc``: Cryptr v1 tokens, and v3 tokens (``aud: []``, issuer in the header) whose
client is listed in ``CRYPTR_CLIENT_IDS``. ``CRYPTR_TENANT_DOMAIN`` may list several tenants,
comma-separated: each is an issuer with its own key set, and a token is checked against the key
set of its own issuer (SPEC §8).

Per request, ``requires_auth`` puts the token's claims (a dict, as in the tutorial) in
``g.current_user`` and the verified token in ``g.cryptr_token``: its ``issuer``, ``client_id``,
``tenant`` and ``scopes`` (SPEC §7 derived values, the same for v1 and v3 tokens) and ``claims``.
``requires_scope`` reads ``scopes`` (v1 ``scp`` and v3 ``scope`` alike).

Errors are the core's SPEC §3 HTTP answer, byte for byte: the tutorial's JSON body
``{"code", "description"}`` plus ``"error"`` (the fine code), ``WWW-Authenticate`` on every 401,
503 with ``Retry-After`` when no key set can be had. The error response is *returned* by the
decorated view, not raised, so it takes the normal response path: ``flask_cors`` (``CORS(app)``
or ``@cross_origin``) adds its headers to errors exactly as to successes.

The state of an app (its ``cryptr_guard.Guard``: settings, key sets, caches) lives in
``app.extensions["cryptr_guard"]``: one ``CryptrGuard`` may serve several apps, each with its own.
"""

from __future__ import annotations

import functools
from inspect import iscoroutinefunction
from typing import Any, Callable, Optional, TypeVar, Union, cast

from flask import Flask, Response, current_app, g, request

from ._errors import CryptrGuardError
from ._host import gather_settings, require_scopes, response_parts
from ._native import Guard, Verified

__all__ = ["CryptrGuard", "requires_auth", "requires_scope", "current_guard", "error_response", "EXTENSION"]

F = TypeVar("F", bound=Callable[..., Any])

#: The key of an app's ``Guard`` in ``app.extensions``.
EXTENSION = "cryptr_guard"

# The objects behind Flask's context proxies, through the proxies' public accessor: bound once
# here, so that a request reads each with one call instead of a proxy hop per attribute.
_app: Callable[[], Flask] = cast(Any, current_app)._get_current_object
_request: Callable[[], Any] = cast(Any, request)._get_current_object
_g: Callable[[], Any] = cast(Any, g)._get_current_object

_NOT_SET_UP = "cryptr_guard: CryptrGuard(app) or init_app(app) was not called for this app"


def current_guard(app: Optional[Flask] = None) -> Guard:
    """The ``Guard`` of ``app`` (default: the current app): readiness (``is_ready()``,
    ``issuers()``), a warm-up (``fetch_due()``, e.g. in a worker's start-up hook)."""
    target = _app() if app is None else app
    guard = target.extensions.get(EXTENSION)
    if guard is None:
        raise RuntimeError(_NOT_SET_UP)
    return cast(Guard, guard)


def error_response(error: CryptrGuardError, app: Optional[Flask] = None) -> Response:
    """The HTTP answer to ``error``, as the core gives it (SPEC §3 "HTTP mapping")."""
    status, headers, body = response_parts(error)
    response_class = (_app() if app is None else app).response_class
    return response_class(body, status=status, headers=headers)


def _call_view(app: Flask, view: Callable[..., Any], is_async: bool, args: Any, kwargs: Any) -> Any:
    """``app.ensure_sync(view)(*args, **kwargs)``, without the per-request coroutine check when
    the view is a plain function and ``ensure_sync`` is Flask's own."""
    if is_async or type(app).ensure_sync is not Flask.ensure_sync:
        return app.ensure_sync(view)(*args, **kwargs)
    return view(*args, **kwargs)


def _authenticate(app: Flask) -> Verified:
    """The current request's verified token (raises ``CryptrGuardError``), also put in ``g``."""
    guard = app.extensions.get(EXTENSION)
    if guard is None:
        raise RuntimeError(_NOT_SET_UP)
    token: Verified = guard.authenticate(_request().environ.get("HTTP_AUTHORIZATION"))
    context = _g()
    context.current_user = token.claims
    context.cryptr_token = token
    return token


class CryptrGuard:
    """The Flask extension: ``CryptrGuard(app)``, or ``ext = CryptrGuard(); ext.init_app(app)``.

    ``fetcher(url, timeout, max_bytes)`` does the HTTP of the key sets (default: a
    ``cryptr_guard.JwksClient``)."""

    def __init__(self, app: Optional[Flask] = None, *, fetcher: Optional[Callable[..., Any]] = None) -> None:
        self.fetcher = fetcher
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Reads and checks ``app``'s ``CRYPTR_*`` settings (``SettingError`` naming the key) and
        gives ``app`` its own ``Guard``."""
        app.extensions[EXTENSION] = Guard(gather_settings(app.config), fetcher=self.fetcher)

    def validate(self, token: Union[str, bytes]) -> Any:
        """The claims of ``token`` for the current app, or the ``CryptrGuardError`` of its refusal."""
        return current_guard().validate(token)

    def authenticate(self) -> Verified:
        """The current request's verified token (raises ``CryptrGuardError``)."""
        return current_guard().authenticate(_request().environ.get("HTTP_AUTHORIZATION"))

    def requires_auth(self, view: F) -> F:
        """Decorator: the module's ``requires_auth``."""
        return requires_auth(view)


def requires_auth(view: F) -> F:
    """Decorator, the tutorial's ``@requires_auth``: validates the request's Bearer token with
    the current app's ``Guard``; ``g.current_user`` (claims) and ``g.cryptr_token`` (the verified
    token); the SPEC §3 error response otherwise."""
    is_async = iscoroutinefunction(view)

    # The request path, inlined: one call into the core, the claims and the token into g.
    @functools.wraps(view)
    def decorated(*args: Any, **kwargs: Any) -> Any:
        app = _app()
        guard = app.extensions.get(EXTENSION)
        if guard is None:
            raise RuntimeError(_NOT_SET_UP)
        try:
            token = guard.authenticate(_request().environ.get("HTTP_AUTHORIZATION"))
        except CryptrGuardError as error:
            return error_response(error, app)
        context = _g()
        context.current_user = token.claims
        context.cryptr_token = token
        if is_async or type(app).ensure_sync is not Flask.ensure_sync:
            return app.ensure_sync(view)(*args, **kwargs)
        return view(*args, **kwargs)

    return cast(F, decorated)


def requires_scope(*scopes: str) -> Callable[[F], F]:
    """Decorator factory: the request must carry a valid token whose ``scopes`` (v1 ``scp`` or v3
    ``scope``) hold every one of ``scopes``, by the core's rule (403 ``insufficient_scope``
    otherwise, the challenge naming the required scopes).
    Authenticates the request itself when ``requires_auth`` has not run before it."""
    required = tuple(scopes)

    def decorator(view: F) -> F:
        is_async = iscoroutinefunction(view)

        @functools.wraps(view)
        def decorated(*args: Any, **kwargs: Any) -> Any:
            app = _app()
            token: Optional[Verified] = _g().get("cryptr_token")
            if token is None:
                try:
                    token = _authenticate(app)
                except CryptrGuardError as error:
                    return error_response(error, app)
            try:
                require_scopes(token, required)
            except CryptrGuardError as error:
                return error_response(error, app)
            return _call_view(app, view, is_async, args, kwargs)

        return cast(F, decorated)

    return decorator
