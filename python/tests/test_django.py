"""cryptr_guard.django through Django's test client and a real JWKS issuer on 127.0.0.1: DRF's own
exception handling renders the core's answers (body, WWW-Authenticate, Retry-After), the scope
permission, and the plain Django decorator and middleware."""

from __future__ import annotations

import json
from typing import Any, Dict, Iterator, Optional

import django
import pytest
from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["rest_framework"],
        MIDDLEWARE=[],
        REST_FRAMEWORK={"UNAUTHENTICATED_USER": None},
    )
    django.setup()

from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from cryptr_guard import CryptrGuardError, Guard, SettingError  # noqa: E402
from cryptr_guard.django import (  # noqa: E402
    CryptrAuthentication,
    HasScopes,
    HasValidToken,
    get_guard,
    requires_auth,
    requires_scope,
)

from .conftest import AUDIENCE, CLIENT_ID, TENANT, Issuer, Key, closed_port_url  # noqa: E402


class Courses(APIView):
    authentication_classes = [CryptrAuthentication]
    permission_classes = [HasValidToken]

    def get(self, request: Request) -> Response:
        return Response({"sub": request.auth.claims["sub"], "tenant": request.auth.tenant, "user": str(request.user)})


class Admin(APIView):
    authentication_classes = [CryptrAuthentication]
    permission_classes = [HasScopes.of("admin")]

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class ViewScopes(APIView):
    authentication_classes = [CryptrAuthentication]
    permission_classes = [HasScopes]
    required_scopes = ["email"]

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


@requires_auth
def plain(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"sub": getattr(request, "auth").claims["sub"]})


@requires_scope("admin")
async def plain_admin(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


urlpatterns = [
    path("api/v1/courses", Courses.as_view()),
    path("api/v1/admin", Admin.as_view()),
    path("api/v1/email", ViewScopes.as_view()),
    path("plain/courses", plain),
    path("plain/admin", plain_admin),
]


def cryptr(issuer: Issuer, **overrides: Any) -> Dict[str, Any]:
    values: Dict[str, Any] = {
        "CRYPTR_BASE_URL": issuer.base_url,
        "CRYPTR_TENANT_DOMAIN": TENANT,
        "CRYPTR_AUDIENCE": AUDIENCE,
        "CRYPTR_CLIENT_IDS": CLIENT_ID,
        "CRYPTR_ALLOW_HTTP": True,
        "CRYPTR_JWKS_TIMEOUT": 2,
    }
    values.update(overrides)
    return values


@pytest.fixture
def configured(issuer: Issuer) -> Iterator[Issuer]:
    with override_settings(**cryptr(issuer)):
        yield issuer


def get(url: str, header: Optional[str] = None) -> Any:
    extra = {} if header is None else {"HTTP_AUTHORIZATION": header}
    return Client().get(url, **extra)


def expected(issuer: Issuer, header: Optional[str]) -> Any:
    with pytest.raises(CryptrGuardError) as info:
        Guard(cryptr(issuer)).authenticate(header)
    return info.value.answer


def assert_answer(response: Any, answer: Any) -> None:
    assert response.status_code == answer.status, response.content
    assert json.loads(response.content) == json.loads(answer.body)
    assert response["Content-Type"] == "application/json"
    assert response.get("WWW-Authenticate") == answer.www_authenticate
    assert (response.get("Retry-After") is not None) == (answer.retry_after is not None)


def test_drf_valid_token(configured: Issuer, k1: Key) -> None:
    configured.serve(k1)
    response = get("/api/v1/courses", "Bearer " + k1.sign(configured.claims(sub="max")))
    assert response.status_code == 200
    assert json.loads(response.content) == {"sub": "max", "tenant": TENANT, "user": "max"}


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer", "Bearer not-a-token", "unknown_kid", "expired"])
def test_drf_renders_the_cores_answers(configured: Issuer, k1: Key, k2: Key, header: Optional[str]) -> None:
    configured.serve(k1)
    if header == "unknown_kid":
        header = "Bearer " + k2.sign(configured.claims())
    elif header == "expired":
        header = "Bearer " + k1.sign(configured.claims(iat=1, exp=2))
    for url in ("/api/v1/courses", "/plain/courses"):
        assert_answer(get(url, header), expected(configured, header))


def test_scopes(configured: Issuer, k1: Key) -> None:
    configured.serve(k1)
    token = "Bearer " + k1.sign(configured.claims())
    for url in ("/api/v1/admin", "/plain/admin"):
        response = get(url, token)
        assert response.status_code == 403
        assert json.loads(response.content)["error"] == "insufficient_scope"
        assert response["WWW-Authenticate"].endswith('scope="admin"')
        assert get(url, "Bearer " + k1.sign(configured.claims(scp=["admin"]))).status_code == 200
    assert get("/api/v1/email", token).status_code == 200


def test_issuer_down_is_503_with_retry_after(issuer: Issuer, k1: Key) -> None:
    down = closed_port_url()
    with override_settings(**cryptr(issuer, CRYPTR_BASE_URL=down)):
        header = "Bearer " + k1.sign(issuer.claims(iss=f"{down}/t/{TENANT}"))
        for url in ("/api/v1/courses", "/plain/courses"):
            response = get(url, header)
            assert response.status_code == 503
            assert json.loads(response.content)["error"] == "jwks_unavailable"
            assert int(response["Retry-After"]) >= 1
            assert "WWW-Authenticate" not in response


def test_middleware(configured: Issuer, k1: Key) -> None:
    configured.serve(k1)
    with override_settings(MIDDLEWARE=["cryptr_guard.django.CryptrGuardMiddleware"]):
        assert get("/plain/courses", "Bearer " + k1.sign(configured.claims(sub="m"))).status_code == 200
        assert_answer(get("/plain/courses", "Bearer x"), expected(configured, "Bearer x"))
        assert_answer(get("/plain/courses"), expected(configured, None))


def test_settings_are_checked(issuer: Issuer) -> None:
    with override_settings(**cryptr(issuer, CRYPTR_MAX_TOKEN_LEN="big")):
        with pytest.raises(SettingError) as info:
            get_guard()
    assert info.value.key == "CRYPTR_MAX_TOKEN_LEN"
