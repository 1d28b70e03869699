"""OpenID discovery through the real module: ``CRYPTR_ISSUER`` alone, against an OpenID provider
on 127.0.0.1 that publishes its configuration at ``{issuer}/.well-known/openid-configuration``
and its key set at the configuration's ``jwks_uri``. The core decides; the Guard's fetcher (the
default ``JwksClient``) and the Flask extension only move the bytes."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterator, List

import pytest

from cryptr_guard import Guard, JwksUnavailable

from .conftest import AUDIENCE, Key

CONFIGURATION = "/realms/acme/.well-known/openid-configuration"
KEYS = "/realms/acme/keys"


class Provider:
    """An OpenID provider on 127.0.0.1 whose issuer is ``http://127.0.0.1:<port>/realms/acme``;
    ``names`` is the issuer its configuration states."""

    def __init__(self, key: Key) -> None:
        self.jwks = json.dumps({"keys": [key.jwk]}).encode()
        self.paths: List[str] = []
        self.lock = threading.Lock()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                with provider.lock:
                    provider.paths.append(self.path)
                    names = provider.names
                if self.path == CONFIGURATION:
                    body = json.dumps(
                        {"issuer": names, "jwks_uri": provider.base_url + KEYS, "response_types_supported": ["code"]}
                    ).encode()
                    status = 200
                elif self.path == KEYS:
                    body, status = provider.jwks, 200
                else:
                    body, status = b"{}", 404
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "max-age=3600")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.issuer = self.base_url + "/realms/acme"
        self.names = self.issuer
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def claims(self) -> Dict[str, Any]:
        now = int(time.time())
        return {"iss": self.issuer, "aud": AUDIENCE, "sub": "user-1", "iat": now - 10, "exp": now + 3600}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider(k1: Key) -> Iterator[Provider]:
    p = Provider(k1)
    yield p
    p.close()


def settings(provider: Provider) -> Dict[str, Any]:
    """The issuer alone: no ``CRYPTR_JWKS_URL``."""
    return {
        "CRYPTR_ISSUER": provider.issuer,
        "CRYPTR_AUDIENCE": AUDIENCE,
        "CRYPTR_PROFILE": "rfc",
        "CRYPTR_ALLOW_HTTP": True,
        "CRYPTR_JWKS_TIMEOUT": 2,
    }


def test_the_issuer_alone_discovers_its_key_set(provider: Provider, k1: Key) -> None:
    guard = Guard(settings(provider))
    row = guard.issuers()[0]
    assert row["jwks_url"] is None
    assert row["discovery_url"] == provider.base_url + CONFIGURATION
    assert not guard.is_ready()
    token = k1.sign(provider.claims())
    assert guard.validate(token)["sub"] == "user-1"
    assert provider.paths == [CONFIGURATION, KEYS]
    row = guard.issuers()[0]
    assert row["jwks_url"] == provider.base_url + KEYS
    assert row["ready"] and guard.is_ready()
    # Both documents are cached.
    assert guard.validate(token)["sub"] == "user-1"
    assert provider.paths == [CONFIGURATION, KEYS]


def test_a_configuration_naming_another_issuer_is_jwks_unavailable(
    provider: Provider, k1: Key, caplog: pytest.LogCaptureFixture
) -> None:
    provider.names = provider.issuer + "/"
    guard = Guard(settings(provider))
    with caplog.at_level("WARNING", logger="cryptr_guard"):
        with pytest.raises(JwksUnavailable) as refused:
            guard.validate(k1.sign(provider.claims()))
    assert refused.value.code == "jwks_unavailable"
    assert refused.value.answer.status == 503
    assert provider.paths == [CONFIGURATION]
    assert not guard.is_ready()
    assert "not the configured issuer" in caplog.text


def test_the_warm_up_fetches_say_what_they_fetch(provider: Provider, k1: Key) -> None:
    guard = Guard(settings(provider))
    # One warm-up call: the configuration, then (a second round) the key set it names.
    first = guard.fetch_due()
    assert [(r["kind"], r["jwks_url"], r["outcome"]) for r in first] == [
        ("discovery", provider.base_url + CONFIGURATION, "ok"),
        ("key_set", provider.base_url + KEYS, "ok"),
    ]
    assert guard.is_ready()
    assert guard.fetch_due() == []
    assert guard.validate(k1.sign(provider.claims()))["sub"] == "user-1"
    assert provider.paths == [CONFIGURATION, KEYS]


def test_flask_with_the_issuer_alone(provider: Provider, k1: Key, make_app: Any) -> None:
    app = make_app(
        CRYPTR_BASE_URL=None,
        CRYPTR_TENANT_DOMAIN=None,
        CRYPTR_ISSUER=provider.issuer,
        CRYPTR_PROFILE="rfc",
    )
    response = app.test_client().get(
        "/api/v1/courses", headers={"Authorization": f"Bearer {k1.sign(provider.claims())}"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert CONFIGURATION in provider.paths and KEYS in provider.paths


def test_the_async_warm_up_discovers_then_fetches_the_key_set(provider: Provider, k1: Key) -> None:
    from cryptr_guard.fastapi import CryptrGuard

    guard = CryptrGuard(settings=settings(provider))
    reports = asyncio.run(guard.fetch_due())
    assert [(r["kind"], r["jwks_url"], r["outcome"]) for r in reports] == [
        ("discovery", provider.base_url + CONFIGURATION, "ok"),
        ("key_set", provider.base_url + KEYS, "ok"),
    ]
    assert guard.guard.is_ready()
    assert provider.paths == [CONFIGURATION, KEYS]
