"""Starlette integration (ASGI): an ``AuthenticationMiddleware`` backend, a ``requires`` decorator
for endpoints, and the SPEC §3 error response; the FastAPI dependency (``cryptr_guard.fastapi``)
is built on it.

>>> from starlette.applications import Starlette
>>> from starlette.middleware import Middleware
>>> from starlette.middleware.authentication import AuthenticationMiddleware
>>> from starlette.responses import JSONResponse
>>> from starlette.routing import Route
>>> from cryptr_guard.starlette import CryptrAuthBackend, requires
>>> backend = CryptrAuthBackend(base_url="https://auth.cryptr.eu", tenant_domain="shark-academy",
...                             audience="http://localhost:8081")
>>> @requires()
... async def courses(request):
...     return JSONResponse({"tenant": request.user.token.tenant})
>>> app = Starlette(routes=[Route("/api/v1/courses", courses)], middleware=[
...     Middleware(AuthenticationMiddleware, backend=backend, on_error=backend.on_error)])

The backend authenticates a request that carries an ``Authorization`` header (``request.user``
is then a ``CryptrUser`` with the verified ``token``, ``request.auth.scopes`` its scopes) and
answers the core's 401/503 to one it refuses (through ``on_error``: pass it, Starlette's default
is a plain 400); a request without the header goes on anonymous, and ``@requires(...)`` answers it
401 ``authorization_header_missing``, or 403 ``insufficient_scope`` to a token without the scopes.
The JWKS fetch runs on the event loop (``AsyncJwksClient``): the loop never waits on the network.
CORS is the app's middleware's job (put ``CORSMiddleware`` outside, so that errors get it too).
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, List, Mapping, Optional, Sequence, Tuple, TypeVar, Union, cast

from starlette.authentication import AuthCredentials, AuthenticationBackend, AuthenticationError, BaseUser
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from ._errors import AuthorizationHeaderMissing, CryptrGuardError
from ._host import AsyncFetcher, Host, answer_of, authorization_of, gather_settings, require_scopes, response_parts
from ._native import Verified

__all__ = [
    "CryptrAuthBackend",
    "CryptrUser",
    "CryptrAuthenticationError",
    "CryptrHTTPException",
    "requires",
    "error_response",
    "exception_handler",
    "install",
]

F = TypeVar("F", bound=Callable[..., Any])


def error_response(error: CryptrGuardError) -> Response:
    """The core's HTTP answer to ``error``: status, headers (``WWW-Authenticate``,
    ``Retry-After``) and the SPEC §3 JSON body."""
    status, headers, body = response_parts(error)
    return Response(body, status_code=status, headers=dict(headers))


class CryptrHTTPException(HTTPException):
    """A refusal raised as Starlette's ``HTTPException``: ``status_code`` and ``headers`` are the
    core's answer's, ``detail`` its body as a dict, ``error`` the ``CryptrGuardError``. With
    :func:`exception_handler` installed (``install(app)``) the response is the core's exactly;
    without it, Starlette's handler answers the same status and headers with the body under
    ``"detail"``."""

    def __init__(self, error: CryptrGuardError) -> None:
        answer = answer_of(error)
        headers = {name: value for name, value in answer.headers if name != "Content-Type"}
        detail = {"code": answer.code, "description": answer.description, "error": answer.error}
        super().__init__(answer.status, detail=cast(Any, detail), headers=headers)
        self.error = error


async def exception_handler(request: Request, exc: Exception) -> Response:
    """The handler of :class:`CryptrHTTPException`: the core's answer."""
    error = getattr(exc, "error", None)
    if not isinstance(error, CryptrGuardError):
        raise exc
    return error_response(error)


def install(app: Any) -> None:
    """Registers :func:`exception_handler` for :class:`CryptrHTTPException` on ``app`` (a
    Starlette or FastAPI app), before it serves."""
    app.add_exception_handler(CryptrHTTPException, exception_handler)


class CryptrUser(BaseUser):
    """``request.user`` of an authenticated request: ``token`` (the ``Verified`` token: claims,
    issuer, client id, tenant, scopes), ``claims``."""

    def __init__(self, token: Verified) -> None:
        self.token = token

    @property
    def claims(self) -> Any:
        return self.token.claims

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        sub = self.token.claims.get("sub")
        return sub if isinstance(sub, str) else ""

    @property
    def identity(self) -> str:
        return self.display_name


class CryptrAuthenticationError(AuthenticationError):
    """A refusal from :class:`CryptrAuthBackend` (``error``: the ``CryptrGuardError``), answered by
    its ``on_error``."""

    def __init__(self, error: CryptrGuardError) -> None:
        super().__init__(str(error))
        self.error = error


class CryptrAuthBackend(AuthenticationBackend):
    """Starlette's ``AuthenticationMiddleware`` backend on an app's guard, configured like the
    Flask extension: ``settings`` (a mapping, default the environment) and/or keyword settings
    (``CRYPTR_AUDIENCE=…`` or ``audience=…``), checked here (``SettingError`` naming the key).
    ``fetcher`` / ``async_fetcher``: the blocking and async JWKS clients (defaults
    ``JwksClient``, ``AsyncJwksClient``). ``host``: share the guard of another integration."""

    def __init__(
        self,
        settings: Optional[Mapping[str, Any]] = None,
        *,
        fetcher: Optional[Callable[..., Any]] = None,
        async_fetcher: Optional[AsyncFetcher] = None,
        host: Optional[Host] = None,
        **keywords: Any,
    ) -> None:
        if host is None:
            host = Host(gather_settings(settings, keywords), fetcher=fetcher, async_fetcher=async_fetcher)
        self.host = host

    @property
    def guard(self) -> Any:
        """The ``cryptr_guard.Guard`` (readiness: ``is_ready()``, ``issuers()``)."""
        return self.host.guard

    async def authenticate(self, conn: HTTPConnection) -> Optional[Tuple[AuthCredentials, BaseUser]]:
        authorization = authorization_of(conn.scope["headers"])
        if authorization is None:
            return None
        try:
            token = await self.host.authenticate_async(authorization)
        except CryptrGuardError as error:
            raise CryptrAuthenticationError(error) from None
        return AuthCredentials(["authenticated", *token.scopes]), CryptrUser(token)

    @staticmethod
    def on_error(conn: HTTPConnection, exc: Exception) -> Response:
        """``AuthenticationMiddleware(on_error=...)``: the core's answer to the refusal."""
        error = getattr(exc, "error", None)
        if not isinstance(error, CryptrGuardError):
            error = CryptrGuardError(str(exc))
        return error_response(error)


def requires(*scopes: Union[str, Sequence[str]]) -> Callable[[F], F]:
    """Decorator of a Starlette endpoint (sync or async, a function or an ``HTTPEndpoint``
    method) behind :class:`CryptrAuthBackend`: the request must be authenticated (401
    ``authorization_header_missing`` otherwise) and its token hold every one of ``scopes`` (403
    ``insufficient_scope``, the core's rule)."""
    required: List[str] = []
    for scope in scopes:
        required.extend([scope] if isinstance(scope, str) else scope)

    def refusal(request: HTTPConnection) -> Optional[Response]:
        user = request.scope.get("user")
        if not isinstance(user, CryptrUser):
            return error_response(AuthorizationHeaderMissing())
        try:
            require_scopes(user.token, required)
        except CryptrGuardError as error:
            return error_response(error)
        return None

    def decorator(endpoint: F) -> F:
        names = list(inspect.signature(endpoint).parameters)
        index = names.index("request") if "request" in names else (1 if names[:1] == ["self"] else 0)

        def request_of(args: Any, kwargs: Any) -> HTTPConnection:
            found = kwargs.get("request", args[index] if index < len(args) else None)
            if not isinstance(found, HTTPConnection):
                raise TypeError("cryptr_guard.starlette.requires: the endpoint takes no request")
            return found

        if inspect.iscoroutinefunction(endpoint):

            @functools.wraps(endpoint)
            async def async_endpoint(*args: Any, **kwargs: Any) -> Any:
                response = refusal(request_of(args, kwargs))
                if response is not None:
                    return response
                return await endpoint(*args, **kwargs)

            return cast(F, async_endpoint)

        @functools.wraps(endpoint)
        def sync_endpoint(*args: Any, **kwargs: Any) -> Any:
            response = refusal(request_of(args, kwargs))
            if response is not None:
                return response
            return endpoint(*args, **kwargs)

        return cast(F, sync_endpoint)

    return decorator
