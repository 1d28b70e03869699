"""What the framework integrations share (Flask, FastAPI/Starlette, Django): one layer over the
core's guard, so that no framework module holds validation, fetch or HTTP-mapping logic.

- :func:`gather_settings`: the ``CRYPTR_*`` settings from a mapping (``app.config``,
  ``os.environ``, a dict), an object with attributes (Django's ``settings``) or keyword
  arguments, as the mapping a :class:`~cryptr_guard.Guard` reads.
- :class:`Host`: an app's guard, with the synchronous path (``authenticate``: the guard's
  fetcher, ``JwksClient`` by default) and the asynchronous one (``authenticate_async``: the check
  paused on I/O, the fetch run on the event loop by ``AsyncJwksClient``, waits that never block
  the loop).
- :func:`answer_of` / :func:`response_parts`: a refusal as the core's HTTP answer: status,
  headers, body.
- :func:`require_scopes`: the core's scope rule (403 ``insufficient_scope``).
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Set, Tuple, Union

from ._aclient import AsyncJwksClient
from ._errors import CryptrGuardError
from ._native import ALIASES, SETTINGS, FetchJob, Guard, HttpAnswer, Pending, Verified, http_answer
from ._native import require_scopes as _require_scopes

__all__ = [
    "Host",
    "SETTING_NAMES",
    "gather_settings",
    "answer_of",
    "response_parts",
    "require_scopes",
    "authorization_of",
]

#: Every name a guard reads: the current ones, then their older aliases.
SETTING_NAMES: Tuple[str, ...] = tuple(name for name, _ in SETTINGS) + tuple(old for _, old in ALIASES)

log = logging.getLogger("cryptr_guard")

# The most rounds of fetches one warm-up runs (an OpenID configuration, then its key set, take
# two; each success leaves its document fresh, so the bound only guards against a jumping clock).
_WARM_UP_ROUNDS = 4

_KEYWORDS: Dict[str, str] = {name[len("CRYPTR_") :].lower(): name for name, _ in SETTINGS}

#: An async fetcher: ``await fetcher(url, timeout, max_bytes)`` answers a ``FetchOutcome``.
AsyncFetcher = Callable[[str, int, int], Awaitable[Any]]


def gather_settings(source: Any = None, keywords: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """The settings a guard is built from. ``source``: a mapping with ``get`` (``app.config``,
    ``os.environ``, a dict) or an object whose attributes are the settings (Django's
    ``settings``); ``None`` is the environment, unless keyword settings are given (then only
    they count). ``keywords``: ``CRYPTR_AUDIENCE="…"`` or ``audience="…"`` (a setting's name
    without ``CRYPTR_``, lower-case); they override ``source``. An unknown keyword is a
    ``TypeError``."""
    found: Dict[str, Any] = {}
    if source is None and not keywords:
        source = os.environ
    if source is not None:
        get = getattr(source, "get", None)
        for name in SETTING_NAMES:
            value = get(name) if callable(get) else getattr(source, name, None)
            if value is not None:
                found[name] = value
    for key, value in (keywords or {}).items():
        setting = key if key in SETTING_NAMES else _KEYWORDS.get(key)
        if setting is None:
            raise TypeError(f"not a cryptr_guard setting: {key!r} (see cryptr_guard.SETTINGS)")
        found[setting] = value
    return found


def answer_of(error: CryptrGuardError) -> HttpAnswer:
    """The core's HTTP answer to ``error`` (the one it carries, else its code's)."""
    return error.answer if error.answer is not None else http_answer(error.code)


def response_parts(error: CryptrGuardError) -> Tuple[int, List[Tuple[str, str]], str]:
    """``(status, headers, body)`` of the answer to ``error``, as the core gives them:
    ``Content-Type: application/json``, ``WWW-Authenticate`` on a 401 and a 403,
    ``Retry-After`` on a 503, the SPEC §3 JSON body."""
    answer = answer_of(error)
    return answer.status, answer.headers, answer.body


def require_scopes(token: Verified, scopes: Union[str, Tuple[str, ...], List[str]]) -> None:
    """Raises ``InsufficientScope`` (403, with the core's answer) unless ``token`` holds every
    one of ``scopes``: the core's rule, for every host."""
    if scopes:
        _require_scopes(token, scopes)


def authorization_of(raw_headers: Any) -> Union[bytes, List[bytes], None]:
    """The ``Authorization`` value(s) of an ASGI scope's ``headers`` (``None``: none, a list when
    there are several, which the core refuses)."""
    found: Optional[bytes] = None
    several: Optional[List[bytes]] = None
    for name, value in raw_headers:
        if name == b"authorization":
            if found is None:
                found = value
            else:
                several = (several or [found]) + [value]
    return several if several is not None else found


class Host:
    """An app's guard (settings, key sets, caches) and the two ways of asking it.

    ``settings`` is what :func:`gather_settings` gives; ``fetcher`` the blocking fetcher of the
    synchronous path (default ``JwksClient``), ``async_fetcher`` the coroutine of the
    asynchronous path (default ``AsyncJwksClient``)."""

    def __init__(
        self,
        settings: Mapping[str, Any],
        *,
        fetcher: Optional[Callable[..., Any]] = None,
        async_fetcher: Optional[AsyncFetcher] = None,
    ) -> None:
        self.guard = Guard(settings, fetcher=fetcher)
        self.async_fetcher: AsyncFetcher = async_fetcher if async_fetcher is not None else AsyncJwksClient()
        self._tasks: Set["asyncio.Task[str]"] = set()
        self._event: Optional[asyncio.Event] = None
        self._event_loop: Optional[asyncio.AbstractEventLoop] = None

    def authenticate(self, authorization: Any) -> Verified:
        """The verified token of an ``Authorization`` header value (``None``: none; a list:
        several), or the ``CryptrGuardError`` of the refusal. A fetch runs here, blocking."""
        return self.guard.authenticate(authorization)

    async def authenticate_async(self, authorization: Any) -> Verified:
        """``authenticate`` on the event loop: a fetch the check needs runs as a coroutine, a
        wait for another request's fetch never blocks the loop."""
        step = self.guard.begin(authorization)
        if isinstance(step, Pending):
            return await self.finish(step)
        return step

    async def finish(self, step: Union[Verified, Pending]) -> Verified:
        """Runs a paused check to its answer (the verified token, or the refusal raised)."""
        while isinstance(step, Pending):
            job = step.fetch
            if job is not None:
                if job.background:
                    self._start(job)
                else:
                    await self.run(job)
            elif step.wait is not None:
                await self._wait(step, step.wait)
            step = step.resume()
        return step

    async def run(self, job: FetchJob) -> str:
        """Runs ``job`` with the async fetcher and reports it, whatever happens (an exception or
        a cancellation is a network failure); returns the report's label."""
        outcome: Any = "network"
        try:
            outcome = await self.async_fetcher(job.url, job.timeout, job.max_bytes)
        except Exception as e:  # a failed fetch, as on the synchronous path
            log.warning("cryptr_guard: the JWKS fetcher raised for %s: %s", job.url, e)
        finally:
            label = job.done(outcome)
            self._notify()
        return label

    async def fetch_due(self) -> List[Dict[str, str]]:
        """Runs the fetches the core wants now without a request, on the event loop (a warm-up
        at start-up, e.g. in a lifespan handler, or a periodic retry), and waits for them. Round
        after round while one installs something (``ok``: an installed OpenID configuration makes
        its key set due at once), as ``Guard.fetch_due`` does."""
        reports: List[Dict[str, str]] = []
        for _ in range(_WARM_UP_ROUNDS):
            jobs = self.guard.due_fetches()
            labels = await asyncio.gather(*(self.run(job) for job in jobs))
            reports += [
                {"issuer": job.issuer, "jwks_url": job.url, "kind": job.kind, "outcome": label}
                for job, label in zip(jobs, labels)
            ]
            if "ok" not in labels:
                break
        return reports

    def _start(self, job: FetchJob) -> None:
        """Starts a background fetch on the running loop, holding its task until it ends."""
        task = asyncio.get_running_loop().create_task(self.run(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _notify(self) -> None:
        """Wakes the coroutines waiting for a fetch of this guard on this loop."""
        event, self._event = self._event, None
        if event is not None:
            event.set()

    async def _wait(self, step: Pending, seconds: float) -> None:
        """Waits until a fetch is reported to the guard or ``seconds`` have passed: woken at
        once by a fetch this host ran on this loop, and checking every 50 ms for one run
        elsewhere (a thread, another loop)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            if self._event is None or self._event_loop is not loop:
                self._event, self._event_loop = asyncio.Event(), loop
            event = self._event
            if step.reported():
                return
            left = deadline - loop.time()
            if left <= 0:
                return
            try:
                await asyncio.wait_for(event.wait(), min(left, 0.05))
            except asyncio.TimeoutError:
                pass
