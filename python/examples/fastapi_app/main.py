"""The Cryptr tutorial's API on FastAPI and cryptr_guard.fastapi.

Run from this folder: ``uvicorn main:app --port 5000``, with the CRYPTR_* settings in the
environment (``CRYPTR_BASE_URL``, ``CRYPTR_TENANT_DOMAIN``, ``CRYPTR_AUDIENCE``, and
``CRYPTR_CLIENT_IDS`` for v3 tokens): read and checked when the app is imported.
"""

from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Dict, List

from fastapi import Depends, FastAPI, Security
from fastapi.middleware.cors import CORSMiddleware

from cryptr_guard import Verified
from cryptr_guard.fastapi import CryptrGuard

COURSES: List[Dict[str, Any]] = [
    {"id": 1, "title": "learn git", "tags": ["collaborative", "git"], "date": "5 Nov", "teacher": {"name": "Max"}},
    {"id": 2, "title": "secure an api", "tags": ["security", "oauth2"], "date": "19 Nov", "teacher": {"name": "Leo"}},
]

guard = CryptrGuard()  # settings from the environment


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await guard.fetch_due()  # a warm start: every key set fetched before the first request
    yield


app = FastAPI(lifespan=lifespan)
guard.init_app(app)  # refusals answered with the core's SPEC §3 response
# The tutorial's step 04: CORS on the API, errors included (the middleware wraps the handlers).
app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_headers=["Authorization"], expose_headers=["WWW-Authenticate"])


@app.get("/api/v1/courses")
async def courses(token: Verified = Depends(guard)) -> List[Dict[str, Any]]:
    """The courses, for any valid Cryptr access token (v1 or v3)."""
    return COURSES


@app.get("/api/v1/me")
async def me(token: Verified = Security(guard, scopes=["openid"])) -> Dict[str, Any]:
    """The caller, for a token with the ``openid`` scope."""
    return {"sub": token.claims.get("sub"), "tenant": token.tenant, "client_id": token.client_id, "scopes": token.scopes}


@app.get("/api/v1/public")
async def public() -> List[Dict[str, Any]]:
    """An unprotected route (the framework's ceiling in the benchmarks)."""
    return COURSES
