"""A stand-in Cryptr issuer for trying the examples offline: generates an RSA key, serves its JWKS
over plain HTTP at http://127.0.0.1:PORT/t/shark-academy/.well-known, and prints the settings and
two signed access tokens for the examples' audience: a v1 token (``iss``, ``aud``, ``scp`` in the
payload) and a v3 token (the issuer in the signed header, ``aud: []``, ``client_id``, ``org``,
``scope``), accepted by its client id. Development only (needs ``cryptography`` and ``PyJWT``).

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
CLIENT_ID = "e68989a5-bd87-45ca-8d0e-d5f91f285849"


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
    server = ThreadingHTTPServer(("127.0.0.1", args.port), None)  # type: ignore[arg-type]
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    issuer = f"{base_url}/t/{TENANT}"
    now = int(time.time())
    v1 = jwt.encode(
        {"iss": issuer, "aud": AUDIENCE, "sub": "local-user", "iat": now, "exp": now + 3600,
         "scp": ["openid", "email"], "email": "max@example.com"},
        key, algorithm="RS256", headers={"kid": "local-1", "typ": "JWT"},
    )
    v3 = jwt.encode(
        {"aud": [], "sub": "local-user-3", "iat": now, "exp": now + 3600, "client_id": CLIENT_ID,
         "org": TENANT, "scope": "openid email profile", "ver": 3},
        key, algorithm="RS256", headers={"kid": "local-1", "typ": "JWT", "iss": issuer},
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

        def log_message(self, format: str, *args: object) -> None:
            pass

    server.RequestHandlerClass = Handler
    print(f"CRYPTR_BASE_URL={base_url}", flush=True)
    print(f"CRYPTR_CLIENT_IDS={CLIENT_ID}", flush=True)
    print(f"TOKEN={v1}", flush=True)
    print(f"TOKEN_V3={v3}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
