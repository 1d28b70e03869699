"""Configuration of the tutorial app, read from the environment (and .env, via python-dotenv)."""

import os

from dotenv import load_dotenv

load_dotenv()

CRYPTR_BASE_URL = os.environ.get("CRYPTR_BASE_URL", "https://auth.cryptr.eu")
CRYPTR_TENANT_DOMAIN = os.environ.get("CRYPTR_TENANT_DOMAIN", "shark-academy")
CRYPTR_AUDIENCE = os.environ.get("CRYPTR_AUDIENCE", "http://localhost:8081")
# Optional: key-set URL override, leeway, http for a local issuer, token cache size.
CRYPTR_JWKS_URL = os.environ.get("CRYPTR_JWKS_URL") or None
CRYPTR_LEEWAY = int(os.environ.get("CRYPTR_LEEWAY", "0"))
CRYPTR_ALLOW_HTTP = os.environ.get("CRYPTR_ALLOW_HTTP", "false")
CRYPTR_TOKEN_CACHE_SIZE = int(os.environ.get("CRYPTR_TOKEN_CACHE_SIZE", "10000"))
