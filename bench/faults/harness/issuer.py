"""The misbehaving issuer: a JWKS endpoint on 127.0.0.1 that can be down, reset connections,
answer HTTP 500, drip, serve garbage or a set without a usable key, and logs every request
with the host process that sent it.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from typing import Any, Callable

from .tokens import RsaKey

CACHE_CONTROL = "public, max-age=5"  # the policy clamps it to its 60 s floor


# One-shot answers (each consumed by one JWKS request, in order) after the outage.
FAULTS = ["invalid_json", "html", "oversized", "no_usable_key"]
# Answers the host counts as a failed fetch (backoff): a valid set without a usable key too (it
# is installed, but not ready, and fetched again on the backoff schedule).
FAILING = {"http_500", "invalid_json", "html", "oversized", "no_usable_key", "reset", "drip"}
DRIP_INTERVAL = 0.1  # seconds between two bytes of a dripped answer


class Issuer:
    """The JWKS endpoint: up or down (listener closed), the published keys, a standing fault
    (every request) and a queue of one-shot faults (one request each, first)."""

    def __init__(self, port: int, t0: float):
        self.port = port
        self.t0 = t0
        self.lock = threading.Lock()
        self.keys: list[RsaKey] = []
        self.unusable: list[dict[str, Any]] = []
        self.fault: str | None = None
        self.queue: list[str] = []
        # [time since t0, answer, host pid, seconds until the answer ended] for every JWKS request
        self.log: list[list[Any]] = []
        self.owner: Callable[[int], int] = lambda port: 0  # the host process of a client port
        self.httpd: http.server.ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/t/faults/.well-known"

    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}/t/faults"

    def up(self) -> None:
        issuer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # one request a connection; close-delimited bodies

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                if self.path != "/t/faults/.well-known":
                    self.send_error(404)
                    return
                issuer.serve(self)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def down(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def answers(self) -> list[str]:
        with self.lock:
            return [entry[1] for entry in self.log]

    def serve(self, h: http.server.BaseHTTPRequestHandler) -> None:
        pid = self.owner(h.client_address[1])
        started = time.time()
        with self.lock:
            answer = self.queue.pop(0) if self.queue else (self.fault or "good")
            keys = [k.jwk() for k in self.keys]
            # No usable key: an EC key, an RSA key under 2048 bits, the current key marked "enc".
            unusable = self.unusable + [k.jwk(use="enc") for k in self.keys]
            entry = [started - self.t0, answer, pid, 0.0]
            self.log.append(entry)
        try:
            if answer == "reset":
                h.close_connection = True
                h.connection.shutdown(socket.SHUT_RDWR)  # accepted, then closed without an answer
            elif answer == "drip":
                body = json.dumps({"keys": keys}).encode()
                h.send_response(200)
                h.send_header("Content-Type", "application/json")
                h.send_header("Content-Length", str(len(body)))
                h.end_headers()
                h.wfile.flush()
                for i in range(len(body)):
                    h.wfile.write(body[i : i + 1])
                    h.wfile.flush()
                    time.sleep(DRIP_INTERVAL)
            elif answer == "good":
                self.send(h, 200, "application/json", json.dumps({"keys": keys}).encode())
            elif answer == "no_usable_key":
                body = json.dumps({"keys": unusable}).encode()
                self.send(h, 200, "application/json", body)
            elif answer == "http_500":
                self.send(h, 500, "text/plain", b"internal server error\n")
            elif answer == "invalid_json":
                self.send(h, 200, "application/json", b'{"keys": [{"kty": "RSA", "kid": "')
            elif answer == "html":
                page = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
                self.send(h, 200, "text/html", page + b"<body><h1>Bad Gateway</h1></body></html>\n")
            elif answer == "oversized":
                # 2 MiB of a JWKS-looking document, no Content-Length: the limit is met while streaming.
                h.send_response(200)
                h.send_header("Content-Type", "application/json")
                h.send_header("Cache-Control", CACHE_CONTROL)
                h.end_headers()
                h.wfile.write(b'{"keys": [], "padding": "')
                chunk = b"A" * 65536
                for _ in range(32):
                    h.wfile.write(chunk)
                h.wfile.write(b'"}')
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass  # the server gave up on an oversized or dripped body
        entry[3] = time.time() - started

    @staticmethod
    def send(h: http.server.BaseHTTPRequestHandler, status: int, ctype: str, body: bytes) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        if status == 200:
            h.send_header("Cache-Control", CACHE_CONTROL)
        h.end_headers()
        h.wfile.write(body)
