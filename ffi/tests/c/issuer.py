#!/usr/bin/env python3
"""A test issuer on 127.0.0.1 for the guard's C tests (test_guard*.c): it publishes the two
organizations' key sets of tests/vectors/multi_issuer.json over plain HTTP, and a few broken
issuers.

    issuer.py VECTORS_DIR PORT_FILE       serves until killed; writes its port to PORT_FILE

Paths (HTTP/1.0, the connection closes after each response):

    /t/a/.well-known             organization A's JWKS, Cache-Control: public, max-age=3600
    /t/b/.well-known             organization B's JWKS, no Cache-Control
    /t/down/.well-known          500
    /t/nokeys/.well-known        a valid JWKS without a usable key
    /rotate/NONCE/.well-known    B's JWKS the first time for each NONCE, A's afterwards (a key
                                 rotation seen mid-way; NONCE keeps test runs apart)
    /oidc/t/ORG/.well-known/openid-configuration
                                 the OpenID configuration of https://shark-academy.cryptr.eu/t/ORG
                                 (ORG: shark-academy or blue-whale), Cache-Control: max-age=3600,
                                 its jwks_uri https://shark-academy.cryptr.eu/t/ORG/keys
    /oidc/t/ORG/keys             ORG's JWKS
    /impostor/t/ORG/.well-known/openid-configuration
                                 as /oidc/..., but naming the issuer .../t/ORG/ (one more slash)
    anything else                404

The OpenID paths stand for https://shark-academy.cryptr.eu/...: the test's host (run_fetch in
test_guard.c) sends that origin's requests here, as a test resolver would.
"""
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

A = "https://shark-academy.cryptr.eu/t/shark-academy"
B = "https://shark-academy.cryptr.eu/t/blue-whale"


def main() -> None:
    vectors, port_file = sys.argv[1], sys.argv[2]
    with open(os.path.join(vectors, "multi_issuer.json"), encoding="utf-8") as f:
        by_issuer = json.load(f)["jwks_by_issuer"]
    jwks = {name: json.dumps(by_issuer[issuer]).encode() for name, issuer in (("a", A), ("b", B))}
    no_usable_key = b'{"keys":[{"kty":"EC","kid":"ec"},{"kty":"RSA","kid":"short","n":"AQAB","e":"AQAB"}]}'
    orgs = {"shark-academy": "a", "blue-whale": "b"}
    rotations = set()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *args) -> None:
            pass

        def send(self, status: int, body: bytes, cache_control=None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if cache_control is not None:
                self.send_header("Cache-Control", cache_control)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            parts = self.path.split("/")
            if self.path == "/t/a/.well-known":
                self.send(200, jwks["a"], "public, max-age=3600")
            elif self.path == "/t/b/.well-known":
                self.send(200, jwks["b"])
            elif self.path == "/t/down/.well-known":
                self.send(500, b'{"error":"down"}')
            elif self.path == "/t/nokeys/.well-known":
                self.send(200, no_usable_key)
            elif len(parts) == 6 and parts[1] in ("oidc", "impostor") and parts[2] == "t" \
                    and parts[3] in orgs and parts[4:] == [".well-known", "openid-configuration"]:
                issuer = f"https://shark-academy.cryptr.eu/t/{parts[3]}"
                document = {
                    "issuer": issuer if parts[1] == "oidc" else issuer + "/",
                    "jwks_uri": f"{issuer}/keys",
                    "id_token_signing_alg_values_supported": ["RS256"],
                }
                self.send(200, json.dumps(document).encode(), "max-age=3600")
            elif len(parts) == 5 and parts[1] == "oidc" and parts[2] == "t" and parts[3] in orgs \
                    and parts[4] == "keys":
                self.send(200, jwks[orgs[parts[3]]])
            elif len(parts) == 4 and parts[1] == "rotate" and parts[3] == ".well-known":
                with lock:
                    first = parts[2] not in rotations
                    rotations.add(parts[2])
                self.send(200, jwks["b"] if first else jwks["a"])
            else:
                self.send(404, b"{}")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
