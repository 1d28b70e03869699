"""The tutorial's API: DRF views (``request.auth`` is the verified token) and a plain Django view."""

from django.http import JsonResponse
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cryptr_guard.django import HasScopes, requires_scope

COURSES = [
    {"id": 1, "title": "learn git", "tags": ["collaborative", "git"], "date": "5 Nov", "teacher": {"name": "Max"}},
    {"id": 2, "title": "secure an api", "tags": ["security", "oauth2"], "date": "19 Nov", "teacher": {"name": "Leo"}},
]


class Courses(APIView):
    """The courses, for any valid Cryptr access token (v1 or v3): the default permission."""

    def get(self, request: Request) -> Response:
        return Response(COURSES)


class Me(APIView):
    """The caller, for a token with the ``openid`` scope."""

    permission_classes = [HasScopes.of("openid")]

    def get(self, request: Request) -> Response:
        token = request.auth
        return Response({"sub": token.claims.get("sub"), "tenant": token.tenant, "scopes": token.scopes})


class Public(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response(COURSES)


@requires_scope("openid")
def plain_me(request):
    """The same as Me, as a plain Django view."""
    return JsonResponse({"sub": request.auth.claims.get("sub"), "tenant": request.auth.tenant})
