"""Django integration: a Django REST framework authentication class and permission classes, and for
plain Django views a middleware and the ``requires_auth`` / ``requires_scope`` decorators.

Settings: the ``CRYPTR_*`` names of ``cryptr_guard.SETTINGS`` in ``settings.py`` (Python values
by the same rule as Flask's ``app.config``), read and checked by the core once, when the guard is
first needed: when the middleware is loaded (at start-up), else at the first request; call
:func:`get_guard` in an ``AppConfig.ready`` to check them at start-up without the middleware.

Django REST framework::

    REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": ["cryptr_guard.django.CryptrAuthentication"],
        "DEFAULT_PERMISSION_CLASSES": ["cryptr_guard.django.HasValidToken"],
    }

    class Admin(APIView):
        permission_classes = [HasScopes.of("admin")]   # or HasScopes and required_scopes = [...]
        def get(self, request):
            return Response({"tenant": request.auth.tenant})   # request.auth: the Verified token

Every refusal is the core's SPEC §3 answer through DRF's own exception handling: the exception
carries the body as its ``detail`` (a dict, rendered as is), its ``WWW-Authenticate``
(``authenticate_header``; a 403 carries it as ``auth_header``) and its ``Retry-After``
(``wait``). ``CryptrAuthentication`` must come first among the authentication classes (DRF
takes the challenge of the first). A request without ``Authorization`` is left to the permission
classes: ``HasValidToken`` and ``HasScopes`` answer it 401 ``authorization_header_missing``
(DRF's ``IsAuthenticated`` would answer DRF's own body).

Plain Django: ``@requires_auth`` / ``@requires_scope("admin")`` on a view (sync or async) put the
verified token on ``request.auth`` and return the core's answer otherwise;
``CryptrGuardMiddleware`` authenticates every request that carries an ``Authorization`` header
(``request.auth``: the token, or ``None`` without the header) and answers a refused one itself.
"""

from __future__ import annotations

import functools
import threading
from inspect import iscoroutinefunction
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, Tuple, Type, TypeVar, cast

from django.core.signals import setting_changed
from django.http import HttpRequest, HttpResponse
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

from ._errors import AuthorizationHeaderMissing, CryptrGuardError
from ._host import Host, answer_of, gather_settings, require_scopes, response_parts
from ._native import Guard, HttpAnswer, Verified

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

__all__ = [
    "CryptrAuthentication",
    "HasValidToken",
    "HasScopes",
    "CryptrUser",
    "CryptrGuardMiddleware",
    "requires_auth",
    "requires_scope",
    "error_response",
    "api_exception",
    "get_guard",
    "get_host",
]

F = TypeVar("F", bound=Callable[..., Any])

_lock = threading.Lock()
_host: Optional[Host] = None


def _setting_changed(*, setting: str, **kwargs: Any) -> None:
    """A ``CRYPTR_*`` setting changed (``override_settings`` in tests): the next use rebuilds
    the guard from the settings."""
    global _host
    if setting.startswith("CRYPTR_"):
        with _lock:
            _host = None


setting_changed.connect(_setting_changed)


def get_host() -> Host:
    """The process's guard host, built from ``django.conf.settings`` on first use."""
    global _host
    host = _host
    if host is None:
        from django.conf import settings

        with _lock:
            if _host is None:
                _host = Host(gather_settings(settings))
            host = _host
    return host


def get_guard() -> Guard:
    """The ``cryptr_guard.Guard`` of the settings: readiness (``is_ready()``, ``issuers()``), a
    warm-up (``fetch_due()``); calling it checks the settings."""
    return get_host().guard


def error_response(error: CryptrGuardError) -> HttpResponse:
    """The core's HTTP answer to ``error`` as a Django response."""
    status, headers, body = response_parts(error)
    response = HttpResponse(body, status=status, content_type="application/json")
    for name, value in headers:
        if name != "Content-Type":
            response[name] = value
    return response


# -- Django REST framework ----------------------------------------------------------------------


class CryptrUser:
    """``request.user`` of a request authenticated by :class:`CryptrAuthentication`: ``token``
    (the ``Verified`` token), ``claims``, ``pk`` and ``username`` (the ``sub`` claim)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True

    def __init__(self, token: Verified) -> None:
        self.token = token
        sub = token.claims.get("sub")
        self.username = sub if isinstance(sub, str) else ""
        self.pk = self.username

    @property
    def claims(self) -> Any:
        return self.token.claims

    def __str__(self) -> str:
        return self.username


class _Answered:
    """What the exceptions below share: ``error`` (the ``CryptrGuardError``) and ``answer``."""

    error: CryptrGuardError
    answer: HttpAnswer


def _detail(answer: HttpAnswer) -> Any:
    return {"code": answer.code, "description": answer.description, "error": answer.error}


class CryptrAuthenticationFailed(exceptions.AuthenticationFailed, _Answered):
    """A 401 refusal: the body as ``detail``; DRF takes ``WWW-Authenticate`` from
    ``CryptrAuthentication.authenticate_header``."""

    def __init__(self, error: CryptrGuardError, answer: HttpAnswer) -> None:
        super().__init__(_detail(answer))
        self.error, self.answer = error, answer


class CryptrNotAuthenticated(exceptions.NotAuthenticated, _Answered):
    """401 ``authorization_header_missing`` from a permission class."""

    def __init__(self, error: CryptrGuardError, answer: HttpAnswer) -> None:
        super().__init__(_detail(answer))
        self.error, self.answer = error, answer


class CryptrPermissionDenied(exceptions.PermissionDenied, _Answered):
    """403 ``insufficient_scope``, its challenge as ``auth_header``."""

    def __init__(self, error: CryptrGuardError, answer: HttpAnswer) -> None:
        super().__init__(_detail(answer))
        self.error, self.answer = error, answer
        self.auth_header = answer.www_authenticate


class CryptrUnavailable(exceptions.APIException, _Answered):
    """503 ``jwks_unavailable``, ``Retry-After`` as ``wait``."""

    status_code = 503

    def __init__(self, error: CryptrGuardError, answer: HttpAnswer) -> None:
        super().__init__(_detail(answer))
        self.error, self.answer = error, answer
        self.wait = answer.retry_after


def api_exception(error: CryptrGuardError) -> exceptions.APIException:
    """``error`` as the DRF exception that DRF renders as the core's answer."""
    answer = answer_of(error)
    cls: Type[Any]
    if answer.status == 401:
        cls = CryptrNotAuthenticated if answer.error == "authorization_header_missing" else CryptrAuthenticationFailed
    elif answer.status == 403:
        cls = CryptrPermissionDenied
    else:
        cls = CryptrUnavailable
    exc = cls(error, answer)
    exc.status_code = answer.status
    return cast(exceptions.APIException, exc)


_ANSWER = "_cryptr_guard_answer"


class CryptrAuthentication(BaseAuthentication):
    """DRF authentication with the core's guard: ``request.auth`` is the ``Verified`` token,
    ``request.user`` a :class:`CryptrUser`. A request without ``Authorization`` is not
    authenticated here (``None``), one with a refused token raises the core's answer."""

    def authenticate(self, request: "Request") -> Optional[Tuple[Any, Any]]:
        verified = getattr(request._request, "auth", None)  # by CryptrGuardMiddleware
        if isinstance(verified, Verified):
            return CryptrUser(verified), verified
        header = request.META.get("HTTP_AUTHORIZATION")
        if header is None:
            return None
        try:
            token = get_host().authenticate(header)
        except CryptrGuardError as error:
            exc = api_exception(error)
            setattr(request, _ANSWER, cast(_Answered, exc).answer)
            raise exc from None
        return CryptrUser(token), token

    def authenticate_header(self, request: "Request") -> str:
        answer: Optional[HttpAnswer] = getattr(request, _ANSWER, None)
        if answer is not None and answer.www_authenticate:
            return answer.www_authenticate
        return "Bearer"


class HasValidToken(BasePermission):
    """The request carries a token that ``CryptrAuthentication`` verified (401
    ``authorization_header_missing`` otherwise, the core's answer) and holding every scope of
    ``required_scopes`` (the class's, else the view's ``required_scopes``; 403
    ``insufficient_scope``)."""

    required_scopes: Sequence[str] = ()

    def has_permission(self, request: "Request", view: "APIView") -> bool:
        token = request.auth
        if not isinstance(token, Verified):
            raise api_exception(AuthorizationHeaderMissing())
        scopes = self.required_scopes or getattr(view, "required_scopes", ())
        try:
            require_scopes(token, tuple(scopes))
        except CryptrGuardError as error:
            raise api_exception(error) from None
        return True


class HasScopes(HasValidToken):
    """:class:`HasValidToken` with scopes: the view's ``required_scopes``, or fixed with
    ``HasScopes.of("admin", ...)``."""

    @classmethod
    def of(cls, *scopes: str) -> Type["HasScopes"]:
        """A permission class requiring ``scopes``."""
        return type(f"HasScopes_{'_'.join(scopes)}", (cls,), {"required_scopes": tuple(scopes)})


# -- Plain Django -------------------------------------------------------------------------------


class CryptrGuardMiddleware:
    """Authenticates every request with an ``Authorization`` header (``request.auth``: the
    ``Verified`` token; ``None`` without the header) and answers a refused one with the core's
    response. Loading it builds the guard: a settings error stops the start-up."""

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        get_host()

    def __call__(self, request: HttpRequest) -> Any:
        header = request.META.get("HTTP_AUTHORIZATION")
        auth: Optional[Verified] = None
        if header is not None:
            try:
                auth = get_host().authenticate(header)
            except CryptrGuardError as error:
                return error_response(error)
        setattr(request, "auth", auth)
        return self.get_response(request)


def requires_scope(*scopes: str) -> Callable[[F], F]:
    """Decorator of a Django view (a function, sync or async; ``method_decorator`` for a class's
    method): the request's token (``request.auth`` when the middleware verified it, else its
    ``Authorization`` header) must be valid and hold every one of ``scopes``; the core's answer
    otherwise. The token is on ``request.auth``."""
    required = tuple(scopes)

    def decorator(view: F) -> F:
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_view(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                token = getattr(request, "auth", None)
                try:
                    if not isinstance(token, Verified):
                        token = await get_host().authenticate_async(request.META.get("HTTP_AUTHORIZATION"))
                    require_scopes(token, required)
                except CryptrGuardError as error:
                    return error_response(error)
                setattr(request, "auth", token)
                return await view(request, *args, **kwargs)

            return cast(F, async_view)

        @functools.wraps(view)
        def sync_view(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            token = getattr(request, "auth", None)
            try:
                if not isinstance(token, Verified):
                    token = get_host().authenticate(request.META.get("HTTP_AUTHORIZATION"))
                require_scopes(token, required)
            except CryptrGuardError as error:
                return error_response(error)
            setattr(request, "auth", token)
            return view(request, *args, **kwargs)

        return cast(F, sync_view)

    return decorator


def requires_auth(view: F) -> F:
    """Decorator of a Django view: ``requires_scope()`` (a valid token, no scope required)."""
    return requires_scope()(view)
