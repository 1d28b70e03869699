"""JwksClient, the HTTP side of a Guard, against real sockets on 127.0.0.1: every way a JWKS
endpoint can misbehave is a failed fetch (never an exception out of the client), and the timeout
bounds the whole fetch."""

from __future__ import annotations

import json
import socket
import time
from typing import Callable

import pytest

from cryptr_guard import Guard, JwksClient

from .conftest import MISBEHAVING, TENANT, Issuer, Key, RawServer, closed_port_url

Start = Callable[[Callable[[socket.socket], None]], RawServer]


def test_a_guard_fetches_with_a_jwks_client_by_default() -> None:
    settings = {"CRYPTR_BASE_URL": "https://a.example", "CRYPTR_TENANT_DOMAIN": "t", "CRYPTR_AUDIENCE": "x"}
    assert isinstance(Guard(settings).fetcher, JwksClient)


def test_a_response_is_handed_back_as_it_came(issuer: Issuer, k1: Key) -> None:
    issuer.serve(k1)
    issuer.cache_control = "public, max-age=900"
    status, cache_control, body = JwksClient()(issuer.jwks_url, 5, 1 << 20)  # type: ignore[misc]
    assert (status, cache_control) == (200, "public, max-age=900")
    assert body == issuer.document


def test_other_statuses_are_answered_without_their_body(issuer: Issuer) -> None:
    assert JwksClient().fetch(f"{issuer.base_url}/nowhere", 5, 1 << 20) == (404, None, b"")
    issuer.status = 503
    assert JwksClient().fetch(issuer.jwks_url, 5, 1 << 20) == (503, None, b"")


def test_a_redirect_is_not_followed(raw_server: Start, issuer: Issuer, k1: Key) -> None:
    issuer.serve(k1)

    def redirect(conn: socket.socket) -> None:
        conn.sendall(f"HTTP/1.1 302 Found\r\nLocation: {issuer.jwks_url}\r\nContent-Length: 0\r\n\r\n".encode())

    server = raw_server(redirect)
    outcome = JwksClient().fetch(f"{server.base_url}/t/{TENANT}/.well-known", 5, 1 << 20)
    assert outcome == (302, None, b"")
    assert issuer.requests == 0


def test_the_body_limit(issuer: Issuer, k1: Key, raw_server: Start) -> None:
    issuer.serve(k1)
    size = len(issuer.document)
    assert JwksClient().fetch(issuer.jwks_url, 5, size - 1) == "too_large"  # by Content-Length
    assert JwksClient().fetch(issuer.jwks_url, 5, size) != "too_large"

    def chunked(conn: socket.socket) -> None:  # no Content-Length: counted while reading
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(4):
            conn.sendall(b"10\r\n" + b"x" * 16 + b"\r\n")
        conn.sendall(b"0\r\n\r\n")

    server = raw_server(chunked)
    assert JwksClient().fetch(server.base_url + "/", 5, 63) == "too_large"
    assert JwksClient().fetch(server.base_url + "/", 5, 64) == (200, None, b"x" * 64)


@pytest.mark.parametrize("script", list(MISBEHAVING))
def test_a_misbehaving_endpoint_is_a_network_failure(raw_server: Start, script: str) -> None:
    server = raw_server(MISBEHAVING[script])
    assert JwksClient().fetch(server.base_url + "/jwks", 5, 1 << 20) == "network"


def test_nothing_listening_is_a_network_failure() -> None:
    assert JwksClient().fetch(closed_port_url() + "/jwks", 5, 1 << 20) == "network"


@pytest.mark.parametrize("url", ["ftp://example.com/jwks", "file:///etc/passwd", "not a url", "http://[::1"])
def test_only_http_urls_are_fetched(url: str) -> None:
    assert JwksClient().fetch(url, 5, 1 << 20) == "network"


@pytest.mark.parametrize("where", ["body", "headers", "silence"])
def test_the_timeout_bounds_the_whole_fetch(raw_server: Start, where: str) -> None:
    """A server sending one byte every 0.6 s never trips a per-read socket timeout of 1 s: the
    deadline is on the whole fetch, and the connection is cut when it passes."""
    cut = []

    def drip(conn: socket.socket) -> None:
        if where == "silence":
            time.sleep(3)
            return
        if where == "body":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
            data = b"x" * 100
        else:
            data = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"y" * 100
        try:
            for byte in data:
                conn.sendall(bytes([byte]))
                time.sleep(0.6)
        except OSError:
            cut.append(True)

    server = raw_server(drip)
    start = time.monotonic()
    assert JwksClient().fetch(server.base_url + "/jwks", 1, 1 << 20) == "timeout"
    elapsed = time.monotonic() - start
    assert 0.9 < elapsed < 1.5, elapsed
    if where != "silence":
        deadline = time.monotonic() + 3
        while not cut and time.monotonic() < deadline:
            time.sleep(0.05)
        assert cut, "the client went on reading after its deadline"


def test_a_body_dripped_every_100_ms_is_cut_at_the_deadline_without_retries(raw_server: Start, k1: Key) -> None:
    """The drip of the field report (one byte per 0.1 s): the client gives up at its deadline,
    and the guard's start-up fetch makes one attempt, not several."""
    body = json.dumps({"keys": [k1.jwk]}).encode()

    def drip(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
        try:
            for byte in body:
                conn.sendall(bytes([byte]))
                time.sleep(0.1)
        except OSError:
            pass

    server = raw_server(drip)
    start = time.monotonic()
    assert JwksClient().fetch(server.base_url + "/jwks", 2, 1 << 20) == "timeout"
    assert 1.9 < time.monotonic() - start < 2.6
    guard = Guard(
        {
            "CRYPTR_ISSUER": f"{server.base_url}/t/{TENANT}",
            "CRYPTR_JWKS_URL": server.base_url + "/jwks",
            "CRYPTR_AUDIENCE": "x",
            "CRYPTR_ALLOW_HTTP": True,
            "CRYPTR_JWKS_TIMEOUT": 2,
        }
    )
    start = time.monotonic()
    reports = guard.fetch_due()
    assert [r["outcome"] for r in reports] == ["timeout"]
    assert time.monotonic() - start < 2.6
    assert server.connections == 2
