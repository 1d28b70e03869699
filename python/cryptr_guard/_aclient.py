"""AsyncJwksClient: the HTTP side of a guard on an event loop (FastAPI, Starlette).

The same contract as :class:`~cryptr_guard.JwksClient` (the guard decides the URL, the deadline
and the size limit, and judges the answer), as a coroutine on asyncio streams: a plain HTTP/1.1
``GET`` with ``Connection: close``, no redirects followed, the deadline on the whole fetch from
name resolution to the last body byte, at most ``max_bytes`` of body, and every failure of the
exchange a failed fetch (``"network"``, ``"timeout"``, ``"too_large"``), never an exception. The
event loop never waits on the network; name resolution of a host name runs in the loop's default
executor (asyncio's own way), an IP address needs none. When the environment names a proxy for
the URL (``https_proxy``, ``http_proxy``, ``no_proxy``), the fetch goes through the blocking
``JwksClient`` in the default executor instead: one thread per fetch, never per request.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
import urllib.parse
import urllib.request
from typing import Dict, List, Optional, Tuple

from ._client import FetchOutcome, JwksClient

__all__ = ["AsyncJwksClient"]

log = logging.getLogger("cryptr_guard")

_STATUS = re.compile(rb"HTTP/1\.[01] ([0-9]{3})(?: [^\r\n]*)?\r?\n")
_MAX_HEADERS = 100
_LINE_LIMIT = 65536
_CHUNK = 65536


class _Failed(Exception):
    """The exchange went wrong: a failed fetch (``network``), with why, for the log."""


class AsyncJwksClient:
    """Fetches JWKS documents on the running event loop: ``await client(url, timeout, max_bytes)``
    (or ``client.fetch(...)``) answers a :data:`~cryptr_guard.FetchOutcome`, as
    :class:`~cryptr_guard.JwksClient` does. ``ssl_context`` defaults to
    ``ssl.create_default_context()``."""

    def __init__(self, *, ssl_context: Optional[ssl.SSLContext] = None, user_agent: str = "cryptr-guard") -> None:
        self.ssl_context = ssl_context if ssl_context is not None else ssl.create_default_context()
        self.user_agent = user_agent
        self._blocking = JwksClient(ssl_context=self.ssl_context, user_agent=user_agent)

    async def fetch(self, url: str, timeout: float, max_bytes: int) -> FetchOutcome:
        """GETs ``url``: see the class documentation."""
        try:
            parts = urllib.parse.urlsplit(url)
            scheme, host, port = parts.scheme.lower(), parts.hostname, parts.port
        except ValueError:
            scheme, host, port = "", None, None
        if scheme not in ("http", "https") or not host:
            log.warning("cryptr_guard: not an http(s) URL, not fetched: %r", url)
            return "network"
        if _proxied(scheme, host):
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(None, self._blocking.fetch, url, timeout, max_bytes)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        try:
            return await asyncio.wait_for(self._get(scheme, host, port, target, max_bytes), timeout)
        except asyncio.TimeoutError:
            log.warning("cryptr_guard: GET %s: no complete response within %s s", url, timeout)
            return "timeout"
        except Exception as e:  # every failure of the exchange is a failed fetch (not a cancellation)
            log.warning("cryptr_guard: GET %s failed: %s: %s", url, type(e).__name__, e)
            return "network"

    __call__ = fetch

    async def _get(self, scheme: str, host: str, port: Optional[int], target: str, max_bytes: int) -> FetchOutcome:
        tls = scheme == "https"
        port = port if port is not None else (443 if tls else 80)
        reader, writer = await asyncio.open_connection(
            host,
            port,
            ssl=self.ssl_context if tls else None,
            server_hostname=host if tls else None,
            limit=_LINE_LIMIT,
        )
        try:
            authority = f"[{host}]" if ":" in host else host
            if port != (443 if tls else 80):
                authority += f":{port}"
            request = (
                f"GET {target} HTTP/1.1\r\nHost: {authority}\r\n"
                "Accept: application/json, application/jwk-set+json\r\n"
                f"User-Agent: {self.user_agent}\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n"
            )
            writer.write(request.encode("ascii", "replace"))
            await writer.drain()
            status, headers = await _head(reader)
            cache_control = ", ".join(headers.get("cache-control", [])) or None
            if status != 200:
                return (status, cache_control, b"")
            codings = [c.strip().lower() for v in headers.get("transfer-encoding", []) for c in v.split(",")]
            if codings and codings[-1] == "chunked":
                body = await _chunked(reader, max_bytes)
            elif "content-length" in headers:
                lengths = {v.strip() for v in headers["content-length"]}
                if len(lengths) != 1 or not next(iter(lengths)).isdigit():
                    raise _Failed("invalid Content-Length")
                length = int(next(iter(lengths)))
                if length > max_bytes:
                    return "too_large"
                body = await reader.readexactly(length)
            else:
                body = await _until_close(reader, max_bytes)
            if body is None:
                return "too_large"
            return (status, cache_control, body)
        finally:
            writer.close()

    def __repr__(self) -> str:
        return f"AsyncJwksClient(user_agent={self.user_agent!r})"


def _proxied(scheme: str, host: str) -> bool:
    """Whether the environment sends ``scheme`` requests to ``host`` through a proxy."""
    proxies = urllib.request.getproxies()
    if scheme not in proxies:
        return False
    return not urllib.request.proxy_bypass(host)


async def _head(reader: asyncio.StreamReader) -> Tuple[int, Dict[str, List[str]]]:
    """The status line and the headers (names lower-cased, values in order)."""
    line = await reader.readuntil(b"\n")
    match = _STATUS.fullmatch(line)
    if match is None:
        raise _Failed("malformed status line")
    status = int(match.group(1))
    headers: Dict[str, List[str]] = {}
    count = 0
    while True:
        line = await reader.readuntil(b"\n")
        if line in (b"\r\n", b"\n"):
            return status, headers
        count += 1
        if count > _MAX_HEADERS:
            raise _Failed(f"more than {_MAX_HEADERS} headers")
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip() or b" " in name:
            raise _Failed("malformed header line")
        headers.setdefault(name.decode("latin-1").lower(), []).append(value.strip().decode("latin-1"))


async def _chunked(reader: asyncio.StreamReader, max_bytes: int) -> Optional[bytes]:
    """A chunked body (``None`` past ``max_bytes``); the trailers are read and dropped."""
    chunks: List[bytes] = []
    size = 0
    while True:
        line = await reader.readuntil(b"\n")
        digits = line.split(b";", 1)[0].strip()
        if not digits or any(c not in b"0123456789abcdefABCDEF" for c in digits):
            raise _Failed("malformed chunk size")
        length = int(digits, 16)
        if length == 0:
            break
        size += length
        if size > max_bytes:
            return None
        chunks.append(await reader.readexactly(length))
        if await reader.readuntil(b"\n") not in (b"\r\n", b"\n"):
            raise _Failed("malformed chunk end")
    while await reader.readuntil(b"\n") not in (b"\r\n", b"\n"):
        pass
    return b"".join(chunks)


async def _until_close(reader: asyncio.StreamReader, max_bytes: int) -> Optional[bytes]:
    """A body delimited by the end of the connection (``None`` past ``max_bytes``)."""
    chunks: List[bytes] = []
    size = 0
    while True:
        chunk = await reader.read(min(_CHUNK, max_bytes + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return None
