"""FastAPI integration: a dependency that validates the request's Bearer token with the core's guard.

>>> from fastapi import Depends, FastAPI, Security
>>> from cryptr_guard import Verified
>>> from cryptr_guard.fastapi import CryptrGuard
>>> app = FastAPI()
>>> guard = CryptrGuard(app, base_url="https://auth.cryptr.eu", tenant_domain="shark-academy",
...                     audience="http://localhost:8081")
>>> @app.get("/api/v1/courses")
... async def courses(token: Verified = Depends(guard)):
...     return {"user": token.claims["sub"], "tenant": token.tenant}
>>> @app.get("/api/v1/admin")
... async def admin(token: Verified = Security(guard, scopes=["admin"])):
...     return {"scopes": token.scopes}

Configuration as the Flask extension's: the ``CRYPTR_*`` settings (``cryptr_guard.SETTINGS``) from
``settings`` (a mapping; default the environment) and/or keyword arguments (``CRYPTR_AUDIENCE=…``
or ``audience=…``, which override it), read and checked by the core when the guard is built: a
``SettingError`` naming the key stops the app at start-up.

The dependency returns the ``Verified`` token (``claims``, ``issuer``, ``client_id``, ``tenant``,
``scopes``). A refusal raises :class:`~cryptr_guard.starlette.CryptrHTTPException`, answered with
the core's SPEC §3 response (401 + ``WWW-Authenticate``, 403 ``insufficient_scope``, 503 +
``Retry-After``) by the handler that ``CryptrGuard(app)`` (or ``guard.init_app(app)``) installs.
A JWKS fetch runs on the event loop (``AsyncJwksClient``), a request waiting for another's fetch
awaits it: the loop never waits on the network, and no thread is started per request.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional

from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security import SecurityScopes
from fastapi.security.base import SecurityBase
from starlette.requests import HTTPConnection

from ._errors import CryptrGuardError
from ._host import AsyncFetcher, Host, authorization_of, gather_settings, require_scopes
from ._native import Guard, Verified
from .starlette import CryptrHTTPException, install

__all__ = ["CryptrGuard", "CryptrHTTPException"]


class CryptrGuard(SecurityBase):
    """The dependency (``Depends(guard)``, ``Security(guard, scopes=[...])``) and the app's guard.

    ``app``: installs the error handler (else call ``init_app(app)``). ``fetcher`` /
    ``async_fetcher``: the blocking and async JWKS clients (defaults ``JwksClient``,
    ``AsyncJwksClient``). In the OpenAPI schema it is an HTTP bearer scheme named
    ``scheme_name``."""

    def __init__(
        self,
        app: Any = None,
        *,
        settings: Optional[Mapping[str, Any]] = None,
        fetcher: Optional[Callable[..., Any]] = None,
        async_fetcher: Optional[AsyncFetcher] = None,
        scheme_name: str = "CryptrGuard",
        **keywords: Any,
    ) -> None:
        self.host = Host(gather_settings(settings, keywords), fetcher=fetcher, async_fetcher=async_fetcher)
        self.model = HTTPBearerModel(bearerFormat="JWT")
        self.scheme_name = scheme_name
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Any) -> None:
        """Installs the handler that answers a refusal with the core's response."""
        install(app)

    @property
    def guard(self) -> Guard:
        """The ``cryptr_guard.Guard``: readiness (``is_ready()``, ``issuers()``)."""
        return self.host.guard

    async def fetch_due(self) -> List[Dict[str, str]]:
        """Fetches every key set the core wants now, on the event loop (e.g. in a lifespan
        handler, for a warm start)."""
        return await self.host.fetch_due()

    async def __call__(self, request: HTTPConnection, security_scopes: SecurityScopes) -> Verified:
        try:
            token = await self.host.authenticate_async(authorization_of(request.scope["headers"]))
            if security_scopes.scopes:
                require_scopes(token, security_scopes.scopes)
        except CryptrGuardError as error:
            raise CryptrHTTPException(error) from None
        return token
