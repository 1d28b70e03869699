"""Settings of the Django example: the tutorial's API on Django REST framework and
cryptr_guard.django. The CRYPTR_* settings come from the environment here; any Python value works
(``CRYPTR_TENANT_DOMAIN = ["shark-academy", "blue-whale"]``, ``CRYPTR_ALLOW_HTTP = True``)."""

import os

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "tutorial.urls"
WSGI_APPLICATION = "tutorial.wsgi.application"
INSTALLED_APPS = ["rest_framework"]
# Authenticates every request that carries a token; refused ones get the core's answer.
MIDDLEWARE = ["cryptr_guard.django.CryptrGuardMiddleware"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["cryptr_guard.django.CryptrAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["cryptr_guard.django.HasValidToken"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,  # no django.contrib.auth in this example
}

CRYPTR_BASE_URL = os.environ.get("CRYPTR_BASE_URL", "https://auth.cryptr.eu")
CRYPTR_TENANT_DOMAIN = os.environ.get("CRYPTR_TENANT_DOMAIN", "shark-academy")
CRYPTR_AUDIENCE = os.environ.get("CRYPTR_AUDIENCE", "http://localhost:8081")
# The other settings (CRYPTR_CLIENT_IDS, CRYPTR_ALLOW_HTTP, ...), as set.
globals().update({name: value for name, value in os.environ.items() if name.startswith("CRYPTR_")})
