"""JwksClient: the HTTP side of a :class:`~cryptr_guard.Guard`.

The guard (the Rust core) decides when a key set is fetched, from which URL, within which deadline
and up to which size, and what a response means; this module only performs the ``GET`` and hands
back what came of it. It uses the standard library (``urllib``: proxies from the environment are
honoured), never follows a redirect, and turns every failure of the exchange into a failed fetch:
connection errors, TLS errors, malformed status lines and headers, too many headers, truncated
bodies. The deadline bounds the whole fetch, name resolution and connection to the last body byte,
however slowly the server sends.
"""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, List, Literal, Optional, Tuple, Union

__all__ = ["JwksClient", "FetchOutcome"]

log = logging.getLogger("cryptr_guard")

#: What a fetcher answers the guard: the response ``(status, Cache-Control value or None, body)``,
#: or why there is none.
FetchOutcome = Union[Tuple[int, Optional[str], bytes], Literal["timeout", "too_large", "network"]]

_CHUNK = 65536


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Only the configured JWKS URL is fetched: a redirect is answered as its own status."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> None:
        return None


class _Attempt:
    """One ``GET``, run in a worker thread. The sockets it opens are tracked (a duplicate of each
    descriptor), so that the caller can shut them down at the deadline and the worker ends
    promptly instead of reading a slow server's bytes for as long as it sends them."""

    def __init__(self, url: str, deadline: float, max_bytes: int, context: ssl.SSLContext, user_agent: str) -> None:
        self.url = url
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.context = context
        self.user_agent = user_agent
        self.outcome: FetchOutcome = "network"
        self.detail: Optional[str] = None
        self._lock = threading.Lock()
        self._sockets: List[socket.socket] = []
        self._aborted = False

    # -- socket tracking ------------------------------------------------------------------------

    def _create_connection(self, *args: Any, **kwargs: Any) -> socket.socket:
        sock = socket.create_connection(*args, **kwargs)
        with self._lock:
            if self._aborted:
                sock.close()
                raise TimeoutError("the fetch's deadline passed")
            self._sockets.append(sock.dup())
        return sock

    def _connection(self, cls: Any) -> Any:
        def make(host: str, **kwargs: Any) -> Any:
            connection = cls(host, **kwargs)
            # http.client opens its socket through this attribute (socket.create_connection by
            # default): the attempt's version records it before any TLS or proxy exchange.
            setattr(connection, "_create_connection", self._create_connection)
            return connection

        return make

    def abort(self) -> None:
        """Cuts the attempt's connections (from the caller's thread, at the deadline)."""
        with self._lock:
            self._aborted = True
            for sock in self._sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    # -- the exchange ---------------------------------------------------------------------------

    def run(self) -> None:
        try:
            self.outcome = self._get()
        except urllib.error.HTTPError as e:
            # Any status but 2xx, redirects included (not followed): the guard judges the status.
            self.outcome = (e.code, None, b"")
            e.close()
        except Exception as e:  # every other failure of the exchange is a failed fetch
            reason = getattr(e, "reason", e)
            if isinstance(reason, (TimeoutError, socket.timeout)):
                self.outcome = "timeout"
            else:
                self.outcome = "network"
            self.detail = f"{type(e).__name__}: {e}"
        finally:
            with self._lock:
                for sock in self._sockets:
                    sock.close()
                self._sockets.clear()

    def _remaining(self) -> float:
        return self.deadline - time.monotonic()

    def _get(self) -> FetchOutcome:
        opener = urllib.request.build_opener(_Http(self), _Https(self, self.context), _NoRedirect())
        request = urllib.request.Request(
            self.url,
            headers={"Accept": "application/json, application/jwk-set+json", "User-Agent": self.user_agent},
        )
        remaining = self._remaining()
        if remaining <= 0:
            return "timeout"
        with opener.open(request, timeout=remaining) as response:
            status = int(response.status)
            cache_control = response.headers.get("Cache-Control")
            if status != 200:
                return (status, cache_control, b"")
            length = response.headers.get("Content-Length")
            if length is not None and length.strip().isdigit() and int(length) > self.max_bytes:
                return "too_large"
            chunks: List[bytes] = []
            size = 0
            while True:
                if self._remaining() <= 0:
                    return "timeout"
                # read1: at most one receive, so that the deadline is checked between them.
                chunk = response.read1(min(_CHUNK, self.max_bytes + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > self.max_bytes:
                    return "too_large"
            return (status, cache_control, b"".join(chunks))


class _Http(urllib.request.HTTPHandler):
    def __init__(self, attempt: _Attempt) -> None:
        super().__init__()
        self._attempt = attempt

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self._attempt._connection(http.client.HTTPConnection), req)


class _Https(urllib.request.HTTPSHandler):
    def __init__(self, attempt: _Attempt, context: ssl.SSLContext) -> None:
        super().__init__(context=context)
        self._attempt = attempt
        self._tls = context

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self._attempt._connection(http.client.HTTPSConnection), req, context=self._tls)


class JwksClient:
    """Fetches JWKS documents for a :class:`~cryptr_guard.Guard` (its default fetcher).

    ``client(url, timeout, max_bytes)`` (or ``client.fetch(...)``) GETs ``url`` and answers a
    :data:`FetchOutcome`: ``(status, cache_control, body)`` for a response (the body is read only
    for a 200, at most ``max_bytes``), else ``"timeout"`` (no complete response within ``timeout``
    seconds of the start), ``"too_large"`` or ``"network"``. It never raises for anything the
    server or the network does. ``ssl_context`` defaults to ``ssl.create_default_context()``.
    Thread-safe.
    """

    def __init__(self, *, ssl_context: Optional[ssl.SSLContext] = None, user_agent: str = "cryptr-guard") -> None:
        self.ssl_context = ssl_context if ssl_context is not None else ssl.create_default_context()
        self.user_agent = user_agent

    def fetch(self, url: str, timeout: float, max_bytes: int) -> FetchOutcome:
        """GETs ``url``: see the class documentation."""
        try:
            scheme = urllib.parse.urlsplit(url).scheme.lower()
        except ValueError:
            scheme = ""
        if scheme not in ("http", "https"):
            log.warning("cryptr_guard: not an http(s) URL, not fetched: %r", url)
            return "network"
        deadline = time.monotonic() + timeout
        attempt = _Attempt(url, deadline, max_bytes, self.ssl_context, self.user_agent)
        # The exchange runs in a worker so that the deadline also bounds what no socket timeout
        # covers (name resolution, a server sending one byte at a time).
        worker = threading.Thread(target=attempt.run, name="cryptr-guard-http", daemon=True)
        try:
            worker.start()
        except RuntimeError:  # no new thread (the interpreter is shutting down)
            return "network"
        worker.join(max(0.0, deadline - time.monotonic()))
        if worker.is_alive():
            attempt.abort()
            log.warning("cryptr_guard: GET %s: no complete response within %s s", url, timeout)
            return "timeout"
        if attempt.detail is not None:
            log.warning("cryptr_guard: GET %s failed: %s", url, attempt.detail)
        return attempt.outcome

    __call__ = fetch

    def __repr__(self) -> str:
        return f"JwksClient(user_agent={self.user_agent!r})"
