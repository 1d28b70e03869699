"""The cross-host table's Django REST framework app, in one file (gunicorn django_app:application):
the CRYPTR_* settings from the environment into Django's settings."""

import os

from django.conf import settings

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["rest_framework"],
    MIDDLEWARE=[],
    REST_FRAMEWORK={
        "DEFAULT_AUTHENTICATION_CLASSES": ["cryptr_guard.django.CryptrAuthentication"],
        "DEFAULT_PERMISSION_CLASSES": ["cryptr_guard.django.HasValidToken"],
        "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        "UNAUTHENTICATED_USER": None,
    },
    **{k: v for k, v in os.environ.items() if k.startswith("CRYPTR_")},
)

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework.permissions import AllowAny  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

from cryptr_guard.django import HasScopes, get_guard  # noqa: E402


class Courses(APIView):
    def get(self, request):
        return Response({"sub": request.auth.claims.get("sub"), "tenant": request.auth.tenant})


class Admin(APIView):
    permission_classes = [HasScopes.of("admin")]

    def get(self, request):
        return Response({"sub": request.auth.claims.get("sub")})


class Public(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"ok": True})


urlpatterns = [
    path("api/v1/courses", Courses.as_view()),
    path("api/v1/me", Admin.as_view()),
    path("api/v1/public", Public.as_view()),
]

application = get_wsgi_application()
get_guard()  # the settings are checked at start-up
