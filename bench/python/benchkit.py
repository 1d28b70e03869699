"""What the Python benchmarks share: the tutorial's tenant and audience, a fresh RSA key with its
JWK, and a Cryptr-like access token signed by it. Benchmarks only, not part of the package."""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import rsa

TENANT = "shark-academy"
AUD = "http://localhost:8081"
KID = "k1"


def b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def rsa_key(bits: int) -> Tuple[Any, Dict[str, str]]:
    """A fresh private key and the public JWK (`kid` KID) an issuer would publish for it."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    numbers = private.public_key().public_numbers()
    jwk = {"kty": "RSA", "kid": KID, "use": "sig", "alg": "RS256", "n": b64url_uint(numbers.n), "e": b64url_uint(numbers.e)}
    return private, jwk


def access_token(private: Any, issuer: str, **extra: Any) -> str:
    """A Cryptr-like access token for AUD from `issuer`, valid for a day, with `extra` claims."""
    now = int(time.time())
    claims = {
        "iss": issuer, "aud": AUD, "sub": "eba25511-afce-4c8e-8cab-f82822434648",
        "iat": now, "exp": now + 86400, "scp": ["openid", "email"], "email": "max@example.com", "tnt": TENANT,
        **extra,
    }
    return pyjwt.encode(claims, private, algorithm="RS256", headers={"kid": KID})


def wrk_args() -> argparse.Namespace:
    """The options every wrk benchmark takes; exits when wrk is missing."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--bits", type=int, default=4096)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed (apt-get install -y wrk)")
    return args


def issuer_tree(bits: int, issuer_port: int) -> Tuple[Path, str, str]:
    """A temporary folder holding TENANT's key set at ``t/TENANT/.well-known`` (for a static file
    server on ``issuer_port``), the base URL, and a token of that issuer: (folder, base URL, token)."""
    private, jwk = rsa_key(bits)
    work = Path(tempfile.mkdtemp(prefix="cg-bench-"))
    well_known = work / "t" / TENANT / ".well-known"
    well_known.parent.mkdir(parents=True)
    well_known.write_text(json.dumps({"keys": [jwk]}))
    base_url = f"http://127.0.0.1:{issuer_port}"
    return work, base_url, access_token(private, f"{base_url}/t/{TENANT}")


def print_samples(samples: Dict[str, List[float]]) -> None:
    """Every round's requests/s of each target, then the load average after the run."""
    print("\nsamples (req/s, in round order):")
    for name, values in samples.items():
        print(f"- {name}: {', '.join(f'{v:.0f}' for v in values)}")
    print(f"load average after the run: {os.getloadavg()[0]:.2f}")


def stop(procs: List[subprocess.Popen], work: Path) -> None:
    """Stops the benchmark's processes (killed after 10 s) and removes its folder."""
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
    shutil.rmtree(work, ignore_errors=True)
