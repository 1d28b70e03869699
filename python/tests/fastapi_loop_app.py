"""The app of test_fastapi's event-loop test (run by uvicorn): configured from the environment."""

from typing import Any, Dict

from fastapi import Depends, FastAPI

from cryptr_guard import Verified
from cryptr_guard.fastapi import CryptrGuard

app = FastAPI()
guard = CryptrGuard(app)


@app.get("/api/v1/courses")
async def courses(token: Verified = Depends(guard)) -> Dict[str, Any]:
    return {"sub": token.claims.get("sub")}


@app.get("/api/v1/public")
async def public() -> Dict[str, str]:
    return {"ok": "yes"}
