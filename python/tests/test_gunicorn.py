"""The tutorial app under real gunicorn processes (sync workers, the example's gunicorn.conf.py)
against a real JWKS issuer on 127.0.0.1 that can serve, drip its answer one byte per 0.1 s, or
serve a key set without a usable key: a request that needs a key set is answered 503 with JSON
and Retry-After by the fetch deadline, a replacement worker starts with the master's key sets, an
unknown-kid refetch never holds a worker past the deadline, a set without usable keys is
refetched at request time once the backoff allows, and SPEC's longest tokens reach the app."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from .conftest import AUDIENCE, EXAMPLE, TENANT, Key, RawServer

pytest.importorskip("gunicorn")
if not sys.platform.startswith("linux"):
    pytest.skip("worker processes are found through /proc", allow_module_level=True)

CONFIG = EXAMPLE / "gunicorn.conf.py"
DEADLINE = 1  # CRYPTR_JWKS_TIMEOUT in these tests, seconds


class SwitchingIssuer:
    """A JWKS endpoint on 127.0.0.1 whose answer the test switches: ``good`` (the key set),
    ``drip`` (the key set, one byte per 0.1 s after the head), ``empty`` (``{"keys":[]}``)."""

    def __init__(self, key: Key) -> None:
        self.mode = "good"
        self.document = json.dumps({"keys": [key.jwk]}).encode()
        self.fetches: List[Tuple[float, str]] = []
        self.server = RawServer(self._answer)
        self.base_url = self.server.base_url
        self.issuer = f"{self.base_url}/t/{TENANT}"

    def _answer(self, conn: socket.socket) -> None:
        mode = self.mode
        self.fetches.append((time.monotonic(), mode))
        body = b'{"keys":[]}' if mode == "empty" else self.document
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: max-age=600\r\n"
        head += b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
        if mode != "drip":
            conn.sendall(head + body)
            return
        conn.sendall(head)
        for byte in body:
            conn.sendall(bytes([byte]))
            time.sleep(0.1)

    def claims(self, **overrides: Any) -> Dict[str, Any]:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": AUDIENCE, "sub": "user-1", "iat": now - 10, "exp": now + 3600}
        claims.update(overrides)
        return claims

    def close(self) -> None:
        self.server.close()


class Gunicorn:
    """``gunicorn server:app`` from the example's folder, with its gunicorn.conf.py (or
    ``config``), bound on 127.0.0.1, configured for ``issuer``."""

    def __init__(self, issuer: SwitchingIssuer, log: Path, *args: str, config: Path = CONFIG) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTR_")}
        env.update(
            CRYPTR_BASE_URL=issuer.base_url,
            CRYPTR_TENANT_DOMAIN=TENANT,
            CRYPTR_AUDIENCE=AUDIENCE,
            CRYPTR_ALLOW_HTTP="true",
            CRYPTR_JWKS_TIMEOUT=str(DEADLINE),
        )
        self.log_path = log
        self.log = open(log, "w")
        command = [sys.executable, "-m", "gunicorn", "-c", str(config), "--chdir", str(EXAMPLE)]
        command += ["-b", f"127.0.0.1:{self.port}", "--log-level", "info", *args, "server:app"]
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while len(self.workers()) < 2 or request(self.base + "/api/v1/public")[0] != 200:
            assert self.process.poll() is None, self.log_path.read_text()
            assert time.monotonic() < deadline, "gunicorn did not start:\n" + self.log_path.read_text()
            time.sleep(0.05)

    def workers(self) -> List[int]:
        """The worker processes (children of the master)."""
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                pids.append(int(entry))
        return sorted(pids)

    def stop(self) -> str:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        return self.log_path.read_text()


def request(url: str, token: Optional[str] = None, timeout: float = 10) -> Tuple[int, Dict[str, str], bytes]:
    """A GET on a new connection: status, headers (lower-case names), body; status 0 for no answer."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()
    except OSError:
        return 0, {}, b""


def assert_spec_503(answer: Tuple[int, Dict[str, str], bytes]) -> int:
    """A SPEC §3 503: JSON body with the codes, Retry-After; returns Retry-After."""
    status, headers, body = answer
    assert status == 503, (status, body)
    assert headers["content-type"] == "application/json"
    document = json.loads(body)
    assert (document["code"], document["error"]) == ("jwks_unavailable", "jwks_unavailable")
    retry_after = int(headers["retry-after"])
    assert retry_after >= 1
    return retry_after


@pytest.fixture
def switching(k1: Key) -> Iterator[SwitchingIssuer]:
    issuer = SwitchingIssuer(k1)
    try:
        yield issuer
    finally:
        issuer.close()


@pytest.fixture
def gunicorn(switching: SwitchingIssuer, tmp_path: Path) -> Iterator[Any]:
    started: List[Gunicorn] = []

    def start(*args: str, config: Path = CONFIG) -> Gunicorn:
        server = Gunicorn(switching, tmp_path / f"gunicorn-{len(started)}.log", *args, config=config)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            if server.process.poll() is None or not server.log.closed:
                server.stop()


@pytest.mark.parametrize("workers", [["--worker-class", "sync"], ["--worker-class", "gthread", "--threads", "4"]])
def test_with_the_issuer_dripping_every_request_is_answered_503_by_the_deadline(
    switching: SwitchingIssuer, gunicorn: Any, k1: Key, workers: List[str]
) -> None:
    """Sync workers: one request per worker fetches, the others queue behind it. Threaded
    workers: the other requests of a worker wait for its fetch, within the same deadline."""
    switching.mode = "drip"
    server = gunicorn(*workers)
    token = k1.sign(switching.claims())
    answers: List[Tuple[float, Tuple[int, Dict[str, str], bytes]]] = []

    def one() -> None:
        start = time.monotonic()
        answer = request(server.base + "/api/v1/courses", token)
        answers.append((time.monotonic() - start, answer))

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 8
    for _, answer in answers:
        assert_spec_503(answer)
    # One fetch deadline in a request at most, plus one queued behind it on a sync worker.
    slowest = max(elapsed for elapsed, _ in answers)
    assert slowest < 2 * DEADLINE + 1, slowest


def test_a_replacement_worker_starts_with_the_masters_key_set(
    switching: SwitchingIssuer, gunicorn: Any, k1: Key
) -> None:
    server = gunicorn()
    token = k1.sign(switching.claims())
    assert request(server.base + "/api/v1/courses", token)[0] == 200
    # The master fetched once before forking; the workers fetched nothing.
    assert [mode for _, mode in switching.fetches] == ["good"]
    # The issuer turns slow, and both workers die: every request now goes to a replacement,
    # which answers from the master's set without fetching.
    switching.mode = "drip"
    workers = server.workers()
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while len(set(server.workers()) - set(workers)) < 2:
        assert time.monotonic() < deadline, "no replacement workers"
        time.sleep(0.05)
    for _ in range(20):
        start = time.monotonic()
        status, _, body = request(server.base + "/api/v1/courses", token)
        assert status == 200, (status, body)
        assert time.monotonic() - start < 1
    assert len(switching.fetches) == 1, switching.fetches


def test_an_unknown_kid_refetch_never_holds_a_worker_past_the_deadline(
    switching: SwitchingIssuer, gunicorn: Any, k1: Key
) -> None:
    # gunicorn kills a worker silent for 3 s; the refetch is cut at the 1 s deadline.
    server = gunicorn("--timeout", "3")
    assert request(server.base + "/api/v1/courses", k1.sign(switching.claims()))[0] == 200
    workers = server.workers()
    switching.mode = "drip"
    rotated = k1.sign(switching.claims(), kid="rotated-kid")
    start = time.monotonic()
    status, _, body = request(server.base + "/api/v1/courses", rotated)
    elapsed = time.monotonic() - start
    assert status == 401 and json.loads(body)["code"] == "no_rsa_key", (status, body)
    assert elapsed < DEADLINE + 1, elapsed
    time.sleep(3.5)
    assert server.workers() == workers, "a worker was killed"
    assert "WORKER TIMEOUT" not in server.stop()


def test_a_set_without_usable_keys_is_refetched_at_request_time_within_the_backoff(
    switching: SwitchingIssuer, gunicorn: Any, k1: Key
) -> None:
    switching.mode = "empty"
    server = gunicorn()
    token = k1.sign(switching.claims())
    retry_after = max(assert_spec_503(request(server.base + "/api/v1/courses", token)) for _ in range(6))
    switching.mode = "good"
    fixed = time.monotonic()
    time.sleep(retry_after + 0.2)
    # Every worker, once its backoff lifts, fetches at the next request (no timer, no unknown kid).
    for _ in range(10):
        status, _, body = request(server.base + "/api/v1/courses", token)
        assert status == 200, (status, body)
    assert time.monotonic() - fixed < retry_after + 2
    assert switching.fetches[-1][1] == "good"


@pytest.mark.parametrize("length", [8192, 8193, 16000])
def test_spec_long_tokens_reach_the_app(switching: SwitchingIssuer, gunicorn: Any, length: int) -> None:
    """The example's limit_request_field_size lets a token of SPEC's longest length (8192) and
    more reach the app, which answers its own JSON (gunicorn's default, 8190, answers an error
    page for the whole header line of an 8,193-byte token)."""
    server = gunicorn()
    token = "a" * (length - 4) + ".b.c"
    status, headers, body = request(server.base + "/api/v1/courses", token)
    assert status == 401, (status, body[:200])
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["error"] == "malformed_token"
