"""The cross-host table's FastAPI app (uvicorn fastapi_app:app): settings from the environment."""

from fastapi import Depends, FastAPI, Security

from cryptr_guard import Verified
from cryptr_guard.fastapi import CryptrGuard

app = FastAPI()
guard = CryptrGuard(app)


@app.get("/api/v1/courses")
async def courses(token: Verified = Depends(guard)):
    return {"sub": token.claims.get("sub"), "tenant": token.tenant}


@app.get("/api/v1/me")
async def admin(token: Verified = Security(guard, scopes=["admin"])):
    return {"sub": token.claims.get("sub")}


@app.get("/api/v1/public")
async def public():
    return {"ok": True}
