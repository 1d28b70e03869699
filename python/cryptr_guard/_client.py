"""JwksClient: fetches an issuer's JWKS with the standard library and follows the core's cache
policy (SPEC §4) through the native ``KeySetCache``; validates tokens through a native
``TokenCache``.

The policy (freshness, grace, backoff, unknown-kid cooldown, one fetch at a time) is decided in the
Rust core; this module only performs the HTTP GET the policy asks for and makes threads wait for a
fetch in flight when no key set is usable yet.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from time import time as _time
from typing import Any, Dict, Optional, Tuple, Union

from . import _native
from ._errors import InvalidJwks, UnknownKey, error_for

__all__ = ["JwksClient"]

log = logging.getLogger("cryptr_guard")


class _FetchError(Exception):
    """A fetch that did not give a body to parse (reason only: no key material)."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Only the configured JWKS URL is fetched: a redirect is a failed fetch."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        return None


def _http_get(uri: str, timeout: float, max_bytes: int) -> Tuple[bytes, Optional[str]]:
    """GET ``uri``: the body of a 200 answer (at most ``max_bytes``) and its Cache-Control."""
    deadline = time.monotonic() + timeout
    opener = urllib.request.build_opener(_NoRedirect())
    request = urllib.request.Request(
        uri,
        headers={"Accept": "application/json, application/jwk-set+json", "User-Agent": "cryptr-guard"},
    )
    try:
        with opener.open(request, timeout=timeout) as response:
            status = response.status
            if status != 200:
                raise _FetchError(f"HTTP status {status}")
            length = response.headers.get("Content-Length")
            if length is not None and length.isdigit() and int(length) > max_bytes:
                raise _FetchError("the key set is larger than max_bytes")
            chunks = []
            size = 0
            while True:
                if time.monotonic() > deadline:
                    raise _FetchError("timed out reading the key set")
                chunk = response.read(min(65536, max_bytes + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > max_bytes:
                    raise _FetchError("the key set is larger than max_bytes")
            return b"".join(chunks), response.headers.get("Cache-Control")
    except urllib.error.HTTPError as e:
        raise _FetchError(f"HTTP status {e.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        raise _FetchError(f"{type(e).__name__}: {reason}") from None


class JwksClient:
    """The key set of one issuer, fetched from ``jwks_uri`` and cached per SPEC §4.

    Thread-safe: share one per issuer. ``https`` only unless ``allow_http=True`` (tests, local
    development). ``token_cache_size`` bounds the verified-token cache (0 disables it).
    """

    def __init__(
        self,
        jwks_uri: str,
        *,
        timeout: float = 5,
        max_bytes: int = 1 << 20,
        allow_http: bool = False,
        min_rsa_bits: int = 2048,
        token_cache_size: int = 10000,
    ) -> None:
        scheme = urllib.parse.urlsplit(jwks_uri).scheme.lower()
        if scheme != "https" and not (allow_http and scheme == "http"):
            raise ValueError("jwks_uri must be an https URL (http only with allow_http=True)")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        if token_cache_size < 0:
            raise ValueError("token_cache_size must be at least 0")
        self.jwks_uri = jwks_uri
        self.timeout = float(timeout)
        self.max_bytes = int(max_bytes)
        self._policy = _native.KeySetCache(min_rsa_bits=min_rsa_bits)
        self._tokens = _native.TokenCache(token_cache_size)
        self._reported = threading.Condition()
        self._reports = 0
        # Why the last fetch failed ("jwks_unavailable" or "invalid_jwks"), for the 503's code.
        self._last_failure = "jwks_unavailable"

    # -- the key set --------------------------------------------------------------------------

    def keys(self, *, now: Optional[int] = None) -> _native.KeySet:
        """The key set to validate against, fetching it if the policy says so; raises
        ``JwksUnavailable`` (or ``InvalidJwks`` when the issuer's last answer was not a usable
        JWKS), with ``retry_after``, when none can be had."""
        seen = self._reports
        decision, ticket, current = self._policy.poll_current(int(_time()) if now is None else now)
        return self._keys_after_poll(now, decision, ticket, current, seen)

    def _keys_after_poll(
        self, now: Optional[int], decision: str, ticket: Optional[int], current: Optional[_native.KeySet], seen: int
    ) -> _native.KeySet:
        if current is not None and (decision == "use_current" or decision == "refresh"):
            if ticket is not None:
                self._refresh_in_background(ticket, now)
            return current
        return self._keys_slow(now, decision, ticket, seen)

    def _keys_slow(self, now: Optional[int], decision: str, ticket: Optional[int], seen: int) -> _native.KeySet:
        deadline = time.monotonic() + self.timeout + 1
        for _ in range(8):
            if decision == "fetch" and ticket is not None:
                self._fetch(ticket, now)
            elif decision == "wait":
                if not self._wait_for_report(seen, deadline):
                    break
            elif decision == "refresh" and ticket is not None:
                self._refresh_in_background(ticket, now)
            elif decision != "use_current":
                break
            seen = self._reports
            decision, ticket, current = self._policy.poll_current(self._now(now))
            if current is not None and (decision == "use_current" or decision == "refresh"):
                if ticket is not None:
                    self._refresh_in_background(ticket, now)
                return current
        raise error_for(self._last_failure, None, self._policy.retry_after(self._now(now)))

    def validate(self, token: Union[str, bytes], validator: _native.Validator, *, now: Optional[int] = None) -> Dict[str, Any]:
        """Validates ``token`` with ``validator`` against this issuer's keys: the claims, or the
        ``CryptrGuardError`` of the SPEC code. An unknown ``kid`` triggers at most one refetch
        (cooldown 30 s), then the token is retried once against the new set."""
        seen = self._reports
        decision, ticket, keys = self._policy.poll_current(int(_time()) if now is None else now)
        if keys is None or decision != "use_current":
            keys = self._keys_after_poll(now, decision, ticket, keys, seen)
        try:
            return validator.validate(token, keys, now=now, cache=self._tokens)
        except UnknownKey:
            at = self._now(now)
            seen = self._reports
            ticket = self._policy.unknown_key(at)
            if ticket is not None:
                self._fetch(ticket, now)
            elif self._policy.fetch_in_flight(at):
                self._wait_for_report(seen, time.monotonic() + self.timeout + 1)
            else:
                raise
            fresh = self._policy.current(self._now(now))
            if fresh is None or fresh.fingerprint == keys.fingerprint:
                raise
        return validator.validate(token, fresh, now=now, cache=self._tokens)

    @property
    def generation(self) -> int:
        """How many key sets were installed (0: none yet)."""
        return self._policy.generation

    @property
    def token_cache(self) -> _native.TokenCache:
        """The verified-token cache (its ``stats`` for metrics)."""
        return self._tokens

    # -- internals ----------------------------------------------------------------------------

    @staticmethod
    def _now(now: Optional[int]) -> int:
        return int(time.time()) if now is None else now

    def _wait_for_report(self, seen: int, deadline: float) -> bool:
        """Waits until a fetch is reported after ``seen``; False on timeout."""
        with self._reported:
            while self._reports == seen:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._reported.wait(remaining)
        return True

    def _fetch(self, ticket: int, now: Optional[int]) -> None:
        """Runs the fetch of ``ticket`` and reports it (always, even on an unexpected error)."""
        reported = False
        try:
            try:
                body, cache_control = _http_get(self.jwks_uri, self.timeout, self.max_bytes)
            except _FetchError as e:
                log.warning("cryptr_guard: fetching the key set from %s failed: %s", self.jwks_uri, e)
                self._last_failure = "jwks_unavailable"
                self._policy.fetch_failed(ticket, self._now(now))
                reported = True
                return
            try:
                self._policy.fetch_succeeded(ticket, self._now(now), body, cache_control)
                self._last_failure = "jwks_unavailable"
            except InvalidJwks as e:
                self._last_failure = "invalid_jwks"
                log.warning("cryptr_guard: the key set from %s is unusable: %s", self.jwks_uri, e.description)
            reported = True
        finally:
            if not reported:
                self._last_failure = "jwks_unavailable"
                self._policy.fetch_failed(ticket, self._now(now))
            with self._reported:
                self._reports += 1
                self._reported.notify_all()

    def _refresh_in_background(self, ticket: int, now: Optional[int]) -> None:
        thread = threading.Thread(
            target=self._fetch, args=(ticket, now), name="cryptr-guard-jwks-refresh", daemon=True
        )
        thread.start()

    def __repr__(self) -> str:
        return f"JwksClient({self.jwks_uri!r}, generation={self.generation})"
