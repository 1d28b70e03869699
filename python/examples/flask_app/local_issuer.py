"""A stand-in Cryptr issuer for trying the example offline: generates an RSA key, serves its JWKS
over plain HTTP at http://127.0.0.1:PORT/t/shark-academy/.well-known, and prints a signed access
token for the example's audience. Development only (needs `cryptography` and `PyJWT`).

    python local_issuer.py [--port 8000]
"""

import argparse
import base64
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

TENANT = "shark-academy"
AUDIENCE = "http://localhost:8081"


def b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = key.public_key().public_numbers()
    jwks = json.dumps({"keys": [{"kty": "RSA", "kid": "local-1", "use": "sig", "alg": "RS256",
                                 "n": b64url_uint(numbers.n), "e": b64url_uint(numbers.e)}]}).encode()
    base_url = f"http://127.0.0.1:{args.port}"
    now = int(time.time())
    token = jwt.encode(
        {"iss": f"{base_url}/t/{TENANT}", "aud": AUDIENCE, "sub": "local-user", "iat": now, "exp": now + 3600,
         "scp": ["openid", "email"], "email": "max@example.com"},
        key, algorithm="RS256", headers={"kid": "local-1", "typ": "JWT"},
    )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != f"/t/{TENANT}/.well-known":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "public, max-age=600")
            self.send_header("Content-Length", str(len(jwks)))
            self.end_headers()
            self.wfile.write(jwks)

    print(f"CRYPTR_BASE_URL={base_url}", flush=True)
    print(f"TOKEN={token}", flush=True)
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
