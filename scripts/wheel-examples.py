"""Runs the three example apps (python/examples: Flask, FastAPI, Django REST framework) against the
local issuer, with whatever cryptr_guard this interpreter imports (scripts/test-wheel.sh: the
installed wheel), and checks that each accepts a Cryptr v3 token and answers 401 without one.

    python scripts/wheel-examples.py
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

EXAMPLES = Path(__file__).resolve().parents[1] / "python" / "examples"


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def get(url: str, token: Optional[str] = None) -> Tuple[int, Any, bytes]:
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def wait_for(port: int, process: subprocess.Popen, name: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{name} did not start")


def main() -> None:
    import cryptr_guard

    print(f"cryptr_guard {cryptr_guard.__version__} from {Path(cryptr_guard.__file__).parent}", flush=True)
    issuer = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "local_issuer.py"), "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    processes: List[subprocess.Popen] = [issuer]
    try:
        printed: Dict[str, str] = {}
        assert issuer.stdout is not None
        while len(printed) < 4:
            name, _, value = issuer.stdout.readline().strip().partition("=")
            printed[name] = value
        env = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTR_")}
        env.update(
            CRYPTR_BASE_URL=printed["CRYPTR_BASE_URL"],
            CRYPTR_CLIENT_IDS=printed["CRYPTR_CLIENT_IDS"],
            CRYPTR_TENANT_DOMAIN="shark-academy",
            CRYPTR_AUDIENCE="http://localhost:8081",
            CRYPTR_ALLOW_HTTP="true",
        )
        python = sys.executable
        apps = {
            "flask": (EXAMPLES / "flask_app", [python, "-m", "flask", "--app", "server", "run", "--port", "{port}"]),
            "fastapi": (EXAMPLES / "fastapi_app", [python, "-m", "uvicorn", "main:app", "--port", "{port}"]),
            "django": (EXAMPLES / "django_app", [python, "manage.py", "runserver", "--noreload", "127.0.0.1:{port}"]),
        }
        for name, (folder, command) in apps.items():
            port = free_port()
            process = subprocess.Popen(
                [part.format(port=port) for part in command], cwd=folder, env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            processes.append(process)
            wait_for(port, process, name)
            base = f"http://127.0.0.1:{port}"
            status, _, body = get(f"{base}/api/v1/courses", printed["TOKEN_V3"])
            assert status == 200 and json.loads(body), (name, status, body)
            status, _, body = get(f"{base}/api/v1/me", printed["TOKEN_V3"])
            me = json.loads(body)
            assert status == 200 and me["sub"] == "local-user-3", (name, me)
            status, headers, body = get(f"{base}/api/v1/courses")
            assert status == 401 and json.loads(body)["error"] == "authorization_header_missing", (name, body)
            assert headers.get("WWW-Authenticate") == "Bearer", (name, headers)
            print(f"{name}: v3 token 200 (/api/v1/courses, /api/v1/me: sub {me['sub']}), no token 401", flush=True)
            process.terminate()
            process.wait(10)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(10)


if __name__ == "__main__":
    main()
