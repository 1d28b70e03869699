#!/usr/bin/env python3
"""Load and faults on `cryptr-guard serve` and on the Flask example under gunicorn (see
bench/faults/README.md). Not a test.

One process plays the token issuer (its JWKS on 127.0.0.1, test-only private keys in memory,
tokens minted here) and directs the run: it starts the host (`cryptr-guard serve`, or gunicorn
with the example's gunicorn.conf.py) pinned to one CPU and wrk pinned to another, moves the issuer
through its phases, and reports the requests served, the wrong answers, the 5xx (each must be a
documented 503: JSON body, Retry-After) and the JWKS fetches of each host process against the
policy. Scenarios: `full` (down at start, steady, key rotation, HTTP 500, one fault per fetch,
back; about 90 s) and `short` (down at start, a dripping issuer, a set without usable keys, then
recovery; about 20 s). Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.server
import json
import math
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Callable

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.normpath(os.path.join(HERE, "..", "..", "python", "examples", "flask_app"))
AUDIENCE = "http://localhost:8081"
CACHE_CONTROL = "public, max-age=5"  # the policy clamps it to its 60 s floor

# The key-set cache policy (SPEC §4; cryptr_guard_core::cache::CacheConfig::DEFAULT). The server
# has no flag to change it, so the phases are timed around these values.
MIN_TTL = 60
UNKNOWN_KEY_COOLDOWN = 30
BACKOFF_INITIAL = 1
BACKOFF_MAX = 300


# --- RSA, test-only (stdlib): key generation and RS256 signing -----------------------------------

_SMALL_PRIMES = [p for p in range(3, 3000) if all(p % q for q in range(2, int(p**0.5) + 1))]
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def _probable_prime(n: int, rng: random.Random) -> bool:
    for p in _SMALL_PRIMES:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(40):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int, rng: random.Random) -> int:
    while True:
        candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if (candidate - 1) % 65537 and _probable_prime(candidate, rng):
            return candidate


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class RsaKey:
    """An RSA key pair (e = 65537) held in memory for the run."""

    def __init__(self, kid: str, bits: int, rng: random.Random):
        self.kid = kid
        while True:
            p, q = _prime(bits // 2, rng), _prime(bits // 2, rng)
            n = p * q
            if p != q and n.bit_length() == bits:
                break
        self.n, self.e = n, 65537
        self.d = pow(self.e, -1, (p - 1) * (q - 1))
        self.size = (bits + 7) // 8

    def jwk(self, **extra: str) -> dict[str, Any]:
        jwk = {
            "kty": "RSA",
            "kid": self.kid,
            "use": "sig",
            "alg": "RS256",
            "n": b64u(self.n.to_bytes(self.size, "big")),
            "e": "AQAB",
        }
        jwk.update(extra)
        return jwk

    def sign(self, message: bytes) -> bytes:
        t = _SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
        em = b"\x00\x01" + b"\xff" * (self.size - len(t) - 3) + b"\x00" + t
        return pow(int.from_bytes(em, "big"), self.d, self.n).to_bytes(self.size, "big")


def jwt(header: dict[str, Any], claims: dict[str, Any], signer: RsaKey | None) -> str:
    head = b64u(json.dumps(header, separators=(",", ":")).encode())
    body = b64u(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{head}.{body}".encode()
    signature = signer.sign(signing_input) if signer else b"\x00" * 32
    return f"{head}.{body}.{b64u(signature)}"


# --- The issuer ---------------------------------------------------------------------------------

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


# --- The director -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def http_get(url: str, timeout: float = 2.0, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": "Bearer " + token} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


METRIC = re.compile(r'^(cryptr_guard_[a-z_]+)(?:\{(.*)\})? (\S+)$', re.M)
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> dict[tuple[str, str], float]:
    """(metric, its last label's value) -> value, summed over the other labels (the server
    labels its per-issuer metrics with `issuer` first; this harness has one issuer)."""
    out: dict[tuple[str, str], float] = {}
    for m in METRIC.finditer(text):
        labels = LABEL.findall(m[2] or "")
        key = (m[1], labels[-1][1] if labels else "")
        out[key] = out.get(key, 0.0) + float(m[3])
    return out


class Watcher:
    """Polls the server's /metrics every 0.1 s and records fetch attempts the issuer cannot see
    (connection refused: `network`, `timeout`) with the time they were noticed."""

    def __init__(self, url: str, t0: float):
        self.url, self.t0 = url, t0
        self.unseen: list[tuple[float, str]] = []
        self.last: dict[tuple[str, str], float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def poll(self) -> None:
        status, text = http_get(self.url)
        if status != 200:
            return
        now = parse_metrics(text)
        for result in ("network",):  # a fetch that connected reached the issuer, which logged it
            key = ("cryptr_guard_jwks_fetches_total", result)
            for _ in range(int(now.get(key, 0) - self.last.get(key, 0))):
                self.unseen.append((time.time() - self.t0, result))
        self.last = now

    def run(self) -> None:
        while not self.stop.wait(0.1):
            self.poll()

    def unseen_count(self) -> int:
        return len(self.unseen)


class Wrk:
    """One wrk run with faults.lua, stopped with SIGINT (wrk then prints its summary)."""

    def __init__(self, args: argparse.Namespace, url: str, tokens_file: str, log: str):
        cmd = [
            "taskset", "-c", args.load_cpu, "wrk",
            f"-t{args.connections}", f"-c{args.connections}", "-d3600s", "--timeout", "10s",
            "-s", os.path.join(HERE, "faults.lua"), url, "--", tokens_file,
        ]  # fmt: skip
        self.out = open(log, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=subprocess.STDOUT)
        self.log = log
        self.name = ""
        self.epochs: list[str] = []

    def finish(self) -> dict[str, Any]:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.out.close()
        result: dict[str, Any] = {"counts": {}, "epochs": {}, "samples": [], "names": self.epochs}
        with open(self.log) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if parts[0] != "@@":
                    continue
                if parts[1] == "count":
                    result["counts"][(parts[2], parts[3])] = int(parts[4])
                elif parts[1] == "epoch":
                    result["epochs"][int(parts[2])] = int(parts[3])
                elif parts[1] == "sample":
                    result["samples"].append(parts[2])
                else:
                    result[parts[1]] = int(parts[2])
        return result


class Timeout(Exception):
    pass


# --- The hosts ----------------------------------------------------------------------------------


def socket_owner(port: int, peer_port: int, pids: list[int]) -> int:
    """The process among `pids` holding the TCP socket 127.0.0.1:`port` -> :`peer_port` (Linux
    /proc), or 0."""
    inode = ""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if (int(fields[1].rsplit(":", 1)[1], 16) == port
                    and int(fields[2].rsplit(":", 1)[1], 16) == peer_port):  # fmt: skip
                inode = fields[9]
                break
        if inode:
            break
    if not inode or inode == "0":
        return 0
    target = f"socket:[{inode}]"
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return pid
            except OSError:
                pass
    return 0


def children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return sorted(out)


class ServeHost:
    """`cryptr-guard serve`: one process, /auth with X-Auth-Key-Id, /readyz, /metrics."""

    label = "cryptr-guard serve"
    path, kid_header, ordered = "/auth", True, True

    def __init__(self, args: argparse.Namespace, issuer: Issuer, port: int, work: str):
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = os.path.join(work, "server.log")
        self.cmd = [
            "taskset", "-c", args.server_cpu, args.bin, "--log-format", "json", "serve",
            "--allow-http", "--bind", f"127.0.0.1:{port}", "--issuer", issuer.issuer(),
            "--audience", AUDIENCE, "--jwks-url", issuer.url(), "--workers", "1",
        ]  # fmt: skip
        if args.jwks_timeout:
            self.cmd += ["--jwks-timeout", str(args.jwks_timeout)]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = dict(os.environ, RUST_LOG="warn,cryptr_guard_server::jwks=info")
        self.err = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.cmd, env=env, stdout=subprocess.DEVNULL, stderr=self.err)

    def started(self) -> bool:
        return http_get(self.base + "/healthz")[0] == 200

    def ready(self, token: str) -> bool:
        return http_get(self.base + "/readyz")[0] == 200

    def master(self) -> int | None:
        return None

    def pids(self) -> list[int]:
        return [self.proc.pid] if self.proc else []

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.err.close()

    def reasons(self) -> dict[str, int]:
        """Fetch reasons in the server's JSON log."""
        reasons: dict[str, int] = {}
        with open(self.log_path, errors="replace") as f:
            for line in f:
                try:
                    fields = json.loads(line).get("fields", {})
                except ValueError:
                    continue
                if fields.get("message") in ("JWKS fetched", "JWKS fetch failed"):
                    reasons[fields.get("reason", "?")] = reasons.get(fields.get("reason", "?"), 0) + 1
        return reasons


class FlaskHost:
    """The Flask example under gunicorn with its gunicorn.conf.py (preloaded app, sync workers):
    a master and workers, each worker with its own key-set cache; /api/v1/courses."""

    label = "Flask example under gunicorn"
    path, kid_header, ordered = "/api/v1/courses", False, False

    def __init__(self, args: argparse.Namespace, issuer: Issuer, port: int, work: str):
        self.args = args
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = os.path.join(work, "gunicorn.log")
        self.cmd = [
            "taskset", "-c", args.server_cpu, args.python, "-m", "gunicorn",
            "-c", os.path.join(EXAMPLE, "gunicorn.conf.py"), "--chdir", EXAMPLE,
            "-b", f"127.0.0.1:{port}", "-w", str(args.workers), "--log-level", "info", "server:app",
        ]  # fmt: skip
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTR_")}
        self.env.update(
            CRYPTR_BASE_URL=issuer.issuer().rsplit("/t/", 1)[0],
            CRYPTR_TENANT_DOMAIN="faults",
            CRYPTR_AUDIENCE=AUDIENCE,
            CRYPTR_ALLOW_HTTP="true",
        )
        if args.jwks_timeout:
            self.env["CRYPTR_JWKS_TIMEOUT"] = str(args.jwks_timeout)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.err = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=self.err, stderr=subprocess.STDOUT)

    def started(self) -> bool:
        return (len(self.pids()) > self.args.workers
                and http_get(self.base + "/api/v1/public")[0] == 200)  # fmt: skip

    def ready(self, token: str) -> bool:
        return all(http_get(self.base + self.path, token=token)[0] == 200 for _ in range(2 * self.args.workers))

    def master(self) -> int | None:
        return self.proc.pid if self.proc else None

    def pids(self) -> list[int]:
        return [self.proc.pid] + children(self.proc.pid) if self.proc else []

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.err.close()

    def reasons(self) -> dict[str, int]:
        return {}


Host = ServeHost | FlaskHost


# --- The run ------------------------------------------------------------------------------------

TOLERANCE = 2.0  # a whole-second clock, and the server's refresher ticks every second


def backoff(failures: int) -> int:
    return min(BACKOFF_INITIAL * 2 ** (failures - 1), BACKOFF_MAX) if failures else 0


class Run:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.work = tempfile.mkdtemp(prefix="cg-faults-")
        self.t0 = time.time()
        self.deadline = self.t0 + args.seconds
        self.phases: list[tuple[str, float, float]] = []
        self.events: list[tuple[float, str]] = []
        self.runs: dict[str, dict[str, Any]] = {}
        self.fixed: float | None = None  # when the issuer served a good set again (short)

    def now(self) -> float:
        return time.time() - self.t0

    def event(self, text: str) -> None:
        self.events.append((self.now(), text))
        print(f"[{self.now():6.1f} s] {text}", flush=True)

    def wait_until(self, what: str, check: Callable[[], bool], limit: float) -> float:
        end = min(time.time() + limit, self.deadline)
        while time.time() < end:
            if check():
                return self.now()
            time.sleep(0.05)
        raise Timeout(what)

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, min(seconds, self.deadline - time.time())))

    def tokens_file(self, name: str, epochs: str, cur: RsaKey, prev: RsaKey | None,
                    forger: RsaKey, storm: bool) -> str:  # fmt: skip
        now = int(time.time())
        iss = self.issuer.issuer()

        def claims(sub: str, **over: object) -> dict[str, Any]:
            c = {"iss": iss, "sub": sub, "aud": AUDIENCE, "iat": now - 10, "exp": now + 3600}
            c.update(over)
            return c

        def rs(kid: str) -> dict[str, Any]:
            return {"alg": "RS256", "typ": "JWT", "kid": kid}

        rows: list[tuple[str, str, str, int, str]] = []

        def bearer(token: str) -> str:
            return "Bearer " + token

        for i in range(4):
            tok = jwt(rs(cur.kid), claims(f"user-{i}"), cur)
            rows.append(("valid_current", cur.kid, "ok", 10, bearer(tok)))
        if prev is not None:
            for i in range(2):
                tok = jwt(rs(prev.kid), claims(f"old-user-{i}"), prev)
                rows.append(("valid_previous", prev.kid, "ok", 8, bearer(tok)))
        expired = jwt(rs(cur.kid), claims("late", iat=now - 7200, exp=now - 3600), cur)
        rows.append(("expired", cur.kid, "token_expired", 8, bearer(expired)))
        forged = jwt(rs(cur.kid), claims("mallory"), forger)
        rows.append(("forged_signature", cur.kid, "invalid_signature", 8, bearer(forged)))
        other_aud = jwt(rs(cur.kid), claims("user-0", aud="https://other.example"), cur)
        rows.append(("wrong_audience", cur.kid, "invalid_audience", 4, bearer(other_aud)))
        none_alg = jwt({"alg": "none", "kid": cur.kid}, claims("user-0"), None)
        rows.append(("alg_none", "-", "unsupported_algorithm", 3, bearer(none_alg)))
        hs_header = json.dumps({"alg": "HS256", "kid": cur.kid}, separators=(",", ":")).encode()
        hs = f"{b64u(hs_header)}.{b64u(b'{}')}.{b64u(hashlib.sha256(b'confusion').digest())}"
        rows.append(("alg_hs256", "-", "unsupported_algorithm", 3, bearer(hs)))
        crit = jwt({"alg": "RS256", "kid": cur.kid, "crit": ["exp"]}, claims("user-0"), cur)
        rows.append(("crit_header", "-", "malformed_token", 2, bearer(crit)))
        rows.append(("not_a_jwt", "-", "malformed_token", 3, bearer("not-a-jwt")))
        rows.append(("header_missing", "-", "authorization_header_missing", 2, "NONE"))
        rows.append(("header_two_words", "-", "invalid_header", 2, "Bearer a b"))
        if storm:
            tail = jwt(rs("x"), claims("user-0"), forger).split(".", 1)[1]
            rows.append(("unknown_kid", "-", "unknown_key", 12, "." + tail))
        host = self.host
        path = os.path.join(self.work, f"tokens-{name}.tsv")
        with open(path, "w") as f:
            f.write(f"target\t{host.path}\t{int(host.kid_header)}\t{int(host.ordered)}\n")
            f.write(f"epochs\t{epochs}\n")
            for row in rows:
                f.write("entry\t" + "\t".join(str(x) for x in row) + "\n")
        return path

    def setup(self, names: list[str], small: bool) -> dict[str, RsaKey]:
        args = self.args
        rng = random.SystemRandom()
        t = time.time()
        keys = {name: RsaKey(name, 2048, rng) for name in names}
        extra = RsaKey("small-1024", 1024, rng) if small else None
        print(f"faults: {len(keys)} test keys in {time.time() - t:.1f} s", flush=True)
        self.jport, sport = free_port(), free_port()
        self.t0 = time.time()
        self.deadline = self.t0 + args.seconds
        self.issuer = issuer = Issuer(self.jport, self.t0)
        issuer.unusable = [{"kty": "EC", "kid": "ec-1", "crv": "P-256", "x": b64u(b"\x01" * 32),
                            "y": b64u(b"\x02" * 32)}]  # fmt: skip
        if extra is not None:
            issuer.unusable.append(extra.jwk())
        self.host: Host = (ServeHost if args.host == "serve" else FlaskHost)(args, issuer, sport, self.work)
        issuer.owner = lambda port: socket_owner(port, self.jport, self.host.pids())
        self.watcher = Watcher(self.host.base + "/metrics", self.t0) if args.host == "serve" else None
        return keys

    def load(self, wrk: Wrk | None, name: str, epochs: str, cur: RsaKey, prev: RsaKey | None,
             forger: RsaKey, storm: bool) -> Wrk:  # fmt: skip
        tokens = self.tokens_file(name, epochs, cur, prev, forger, storm)
        if wrk is not None:
            self.runs[wrk.name] = wrk.finish()
        w = Wrk(self.args, self.host.base, tokens, os.path.join(self.work, f"wrk-{name}.log"))
        w.name, w.epochs = name, epochs.split("|")
        return w

    def start_host(self, down: bool) -> None:
        """Starts the host with the issuer down: the server finds nothing listening (connection
        refused); gunicorn's master and workers get an accepted, then closed, connection (the
        issuer then sees, and attributes, every attempt)."""
        if self.args.host == "flask":
            self.issuer.fault = "reset" if down else None
            self.issuer.up()
        self.host.start()
        if self.watcher is not None:
            self.watcher.thread.start()
        self.wait_until("host listening", self.host.started, 30)

    def issuer_up(self) -> None:
        if self.args.host == "flask":
            self.issuer.fault = None
        else:
            self.issuer.up()

    def finish(self, wrk: Wrk | None) -> dict[tuple[str, str], float]:
        if wrk is not None:
            self.runs[wrk.name] = wrk.finish()
        metrics: dict[tuple[str, str], float] = {}
        if self.watcher is not None:
            self.watcher.stop.set()
            self.watcher.poll()
            status, text = http_get(self.host.base + "/metrics")
            if status == 200:
                metrics = parse_metrics(text)
        self.pids_seen = self.host.pids()
        self.host.stop()
        self.issuer.down()
        return metrics

    def main(self) -> int:
        return self.main_full() if self.args.scenario == "full" else self.main_short()

    def main_full(self) -> int:
        args = self.args
        keys = self.setup(["key-a", "key-b", "key-c", "forger"], small=True)
        key_a, key_b, key_c, forger = keys["key-a"], keys["key-b"], keys["key-c"], keys["forger"]
        issuer = self.issuer
        complete = False
        wrk = None

        def fetches_after(n: int) -> bool:
            return len(issuer.answers()) > n

        try:
            # Cold start: the issuer is down, nothing is cached: 503 jwks_unavailable is the only
            # right answer for a token (header errors are decided before any key set is used).
            phase = self.now()
            self.event(f"issuer down; starting {self.host.label} on {self.host.base} (CPU {args.server_cpu})")
            issuer.keys = [key_a]
            self.start_host(down=True)
            wrk = self.load(wrk, "1-key-a", "NONE|key-a|key-b", key_a, None, forger, storm=False)
            self.event(f"wrk -t{args.connections} -c{args.connections} (CPU {args.load_cpu}): key-a tokens, no key set cached")
            self.sleep(1.5)
            self.issuer_up()
            self.event("issuer up, publishing key-a")
            probe = jwt({"alg": "RS256", "kid": "key-a"}, {"iss": issuer.issuer(), "aud": AUDIENCE,
                        "exp": int(time.time()) + 3600}, key_a)  # fmt: skip
            ready = self.wait_until("host ready", lambda: self.host.ready(probe), 20)
            self.event("host ready (key-a fetched)")
            self.phases.append(("cold start: issuer down, no key set", phase, ready))
            self.sleep(args.steady)
            self.phases.append(("steady: key-a", ready, self.now()))

            # Rotation 1: key-b replaces key-a at the issuer; the load signs with key-b, still
            # sends key-a tokens, and random unknown kids (a refetch storm) from now on.
            phase = self.now()
            n = len(issuer.answers())
            issuer.keys = [key_b]
            self.event("rotation 1: the issuer publishes key-b only (key-a withdrawn)")
            wrk = self.load(wrk, "2-key-b", "key-a|key-b|-|key-c", key_b, key_a, forger, storm=True)
            picked = self.wait_until("key-b fetched", lambda: fetches_after(n), 40)
            self.event(f"key-b fetched by the host, {picked - phase:.1f} s after the rotation")
            self.sleep(phase + args.rotate - self.now())
            self.phases.append(("rotation 1: key-a -> key-b, unknown-kid storm starts", phase, self.now()))

            # Down: HTTP 500 on every request until the host has tried once.
            phase = self.now()
            n = len(issuer.answers())
            issuer.fault = "http_500"
            self.event("issuer down: HTTP 500")
            hit = self.wait_until("a fetch during the outage", lambda: fetches_after(n), 70)
            self.event("the host's fetch got the 500")
            self.phases.append(("down: HTTP 500", phase, hit))

            # Back, but broken: one fault per fetch, then good again. Rotation 2 happens while the
            # faults wait for the host's next fetch.
            phase = self.now()
            n = len(issuer.answers())
            issuer.queue = list(FAULTS)
            issuer.fault = None
            self.event("issuer answers again, one fault per fetch: " + ", ".join(FAULTS))
            self.sleep(args.rotate)
            rotation2 = self.now()
            issuer.keys = [key_c]
            self.event("rotation 2: the issuer publishes key-c only (key-b withdrawn)")
            wrk = self.load(wrk, "3-key-c", "key-b|-|key-c", key_c, key_b, forger, storm=True)
            self.wait_until("faults fetched", lambda: not issuer.queue, 120)
            faults_end = self.now()
            self.fixed = faults_end
            self.event("every fault fetched (the last, a set without usable keys: 503 until refetched)")
            self.phases.append(("faults: " + ", ".join(FAULTS) + "; rotation 2 to key-c", phase, faults_end))
            self.wait_until("recovery", lambda: self.all_recovered(), 60)
            back = self.now()
            self.event(f"key-c fetched by every host process, {back - faults_end:.1f} s after the last fault, "
                       f"{back - rotation2:.1f} s after rotation 2")  # fmt: skip
            self.sleep(args.back)
            self.phases.append(("back: key-c", faults_end, self.now()))
            complete = True
        except Timeout as e:
            self.event(f"stopped before the scenario was complete: waiting for {e}")
        finally:
            metrics = self.finish(wrk)
        return self.report(metrics, self.now(), complete)

    def main_short(self) -> int:
        args = self.args
        keys = self.setup(["key-a", "forger"], small=False)
        key_a, forger = keys["key-a"], keys["forger"]
        issuer = self.issuer
        complete = False
        wrk = None
        deadline = args.jwks_timeout or 5
        try:
            phase = self.now()
            self.event(f"issuer down; starting {self.host.label} on {self.host.base} (CPU {args.server_cpu})")
            issuer.keys = [key_a]
            self.start_host(down=True)
            wrk = self.load(wrk, "short", "NONE|-|key-a", key_a, None, forger, storm=False)
            self.event(f"wrk -t{args.connections} -c{args.connections} (CPU {args.load_cpu}): key-a tokens, no key set cached")
            self.sleep(1.5)
            self.phases.append(("cold start: issuer down", phase, self.now()))

            phase = self.now()
            issuer.fault = "drip"
            if args.host == "serve":
                issuer.up()
            self.event(f"issuer drips its answer, one byte per {DRIP_INTERVAL} s (fetch deadline {deadline} s)")

            def drip_cut() -> bool:
                with issuer.lock:
                    return any(e[1] == "drip" and e[3] > 0 for e in issuer.log)

            self.wait_until("a dripped fetch cut at the deadline", drip_cut, 40)
            self.event("a dripped fetch was cut by the host")
            self.phases.append(("drip: every fetch cut at the deadline", phase, self.now()))

            phase = self.now()
            issuer.fault = "no_usable_key"
            self.event("issuer serves a valid set without a usable key")
            self.wait_until("a set without usable keys fetched", lambda: "no_usable_key" in issuer.answers(), 40)
            self.event("the host fetched the set without usable keys (not ready: 503 with Retry-After)")
            self.phases.append(("no usable key", phase, self.now()))

            phase = self.now()
            issuer.fault = None
            self.fixed = phase
            self.event("issuer fixed: key-a")
            self.wait_until("recovery", lambda: self.all_recovered(), 60)
            self.event(f"every host process holds key-a, {self.now() - phase:.1f} s after the fix")
            self.sleep(args.steady)
            self.phases.append(("recovery and steady", phase, self.now()))
            complete = True
        except Timeout as e:
            self.event(f"stopped before the scenario was complete: waiting for {e}")
        finally:
            metrics = self.finish(wrk)
        return self.report(metrics, self.now(), complete)

    # --- fetches, per host process ------------------------------------------------------------

    def fetches(self) -> list[tuple[float, str, int, float]]:
        """Every fetch attempt: (time, answer, host pid, duration); connection-refused attempts
        of the server from its metrics."""
        with self.issuer.lock:
            out = [(e[0], e[1], e[2], e[3]) for e in self.issuer.log]
        if self.watcher is not None:
            pid = self.host.pids()[0] if self.host.pids() else 0
            out += [(t, "refused", pid, 0.0) for t, _ in self.watcher.unseen]
        return sorted(out)

    def timelines(self) -> dict[int, list[tuple[float, str]]]:
        """Each fetching process's history of fetches. A gunicorn worker starts with its master's
        state (the fetches before the fork) and adds its own."""
        fetches = self.fetches()
        master = self.host.master()
        inherited = [(t, a) for t, a, p, _ in fetches if master is not None and p == master]
        out: dict[int, list[tuple[float, str]]] = {}
        for t, a, p, _ in fetches:
            if p == master:
                continue
            out.setdefault(p, list(inherited)).append((t, a))
        if master is not None and not out:
            out[master] = inherited
        return {p: sorted(v) for p, v in out.items()}

    def all_recovered(self) -> bool:
        """Every process that fetched has a good set as its last fetch, and the host answers."""
        lines = self.timelines()
        return bool(lines) and all(v and v[-1][1] == "good" for v in lines.values())

    @staticmethod
    def compliance(fetches: list[tuple[float, str]], end: float) -> tuple[list[str], list[str], list[str]]:
        """Checks one process's fetches against the policy, in whole seconds as its clock counts,
        with 1 s of tolerance per interval. A fetch is allowed when the backoff has lifted and
        either no good set is held (none yet, or one without a usable key), or the set is at
        least MIN_TTL old, or (an unknown-key refetch) the last one was at least
        UNKNOWN_KEY_COOLDOWN ago. After a set without a usable key the next fetch is due when
        the backoff lifts: it must come within TOLERANCE of that. Returns each fetch's label, the
        violations and the recoveries."""
        installed = None
        failures, last_failure, last_unknown = 0, 0.0, None
        labels, violations, recoveries = [], [], []
        due: tuple[float, float, int] | None = None  # (no-usable-key fetch, due at, streak)
        for t, answer in fetches:
            if due is not None:
                late = t - due[1]
                verdict = "within" if late <= TOLERANCE else "LATE"
                recoveries.append(f"{due[0]:6.1f} s no usable key (streak {due[2]}, backoff {backoff(due[2])} s) "
                                  f"-> {t:6.1f} s {answer}: after {t - due[0]:.1f} s, {verdict} the bound")  # fmt: skip
                if late > TOLERANCE:
                    violations.append(f"{t:.1f} s {answer}: refetch after a set without usable keys {late:.1f} s late")
                due = None
            wait = backoff(failures)
            if failures and t - last_failure < wait - 1:
                label = "VIOLATION: during backoff"
            elif installed is None:
                label = "no key set"
            elif t - installed >= MIN_TTL - 1:
                label = "stale"
            elif last_unknown is None or t - last_unknown >= UNKNOWN_KEY_COOLDOWN - 1:
                label = "unknown kid"
                last_unknown = t
            else:
                label = "VIOLATION: fresh set, unknown-kid cooldown running"
            if label.startswith("VIOLATION"):
                violations.append(f"{t:.1f} s {answer}: {label}")
            labels.append(label)
            if answer == "good":
                installed, failures = t, 0
            else:
                failures, last_failure = failures + 1, t
                if answer == "no_usable_key":
                    installed = None
                    due = (t, t + backoff(failures), failures)
        if due is not None and end - due[1] > TOLERANCE:
            violations.append(f"{due[0]:.1f} s no usable key: no refetch by {due[1] + TOLERANCE:.1f} s")
        return labels, violations, recoveries

    @staticmethod
    def streak_bound(seconds: float) -> int:
        """The most fetches a backoff of 1, 2, 4, ... s allows in `seconds`, each gap up to 1 s
        shorter (whole-second clock): k fetches need 2^(k-1) - k seconds."""
        k = 1
        while 2 ** k - (k + 1) <= seconds + 1:
            k += 1
        return k

    # --- report ---------------------------------------------------------------------------------

    def report(self, metrics: dict[tuple[str, str], float], end: float, complete: bool) -> int:
        runs = self.runs
        served = sum(r.get("served", 0) for r in runs.values())
        wrong = sum(r.get("wrong", 0) for r in runs.values())
        fivexx = sum(r.get("fivexx", 0) for r in runs.values())
        fivexx_cached = sum(r.get("fivexx_cached", 0) for r in runs.values())
        undocumented = sum(r.get("undocumented", 0) for r in runs.values())
        socket_errors = sum(r.get(f"errors_{n}", 0) for r in runs.values()
                            for n in ("connect", "read", "write", "timeout"))  # fmt: skip
        load_seconds = sum(r.get("duration_us", 0) for r in runs.values()) / 1e6
        p99 = max((r.get("latency_p99_us", 0) for r in runs.values()), default=0) / 1e6
        worst = max((r.get("latency_max_us", 0) for r in runs.values()), default=0) / 1e6
        fetches = self.fetches()
        lines = self.timelines()
        master = self.host.master()
        server_fetches = {k[1]: int(v) for k, v in metrics.items() if k[0] == "cryptr_guard_jwks_fetches_total"}
        outcomes = {k[1]: int(v) for k, v in metrics.items() if k[0] == "cryptr_guard_requests_total"}

        # The bound, per fetching process: successes that refresh an old set come at most once per
        # MIN_TTL, unknown-kid refetches at most once per cooldown, and failures only while the
        # issuer fails, within the backoff's reach for each window's length.
        duration = math.ceil(end)
        windows = []
        first = self.phases[0] if self.phases else None
        if first is not None:
            windows.append(("issuer down or failing at start", first[1], self.fixed or first[2]) if
                           self.args.scenario == "short" else ("cold start (down)", first[1], first[2]))  # fmt: skip
        down = next((p for p in self.phases if p[0].startswith("down")), None)
        if down:
            last_fault = max((t for t, a, _, _ in fetches if a in FAILING), default=down[2])
            windows.append(("outage + faults", down[1], last_fault))
        bound_fresh = duration // MIN_TTL + 1
        bound_unknown = duration // UNKNOWN_KEY_COOLDOWN + 1 if self.args.scenario == "full" else 0
        bound_fail = sum(self.streak_bound(b - a) for _, a, b in windows)
        per_process = bound_fresh + bound_unknown + bound_fail
        inherited = sum(1 for _, _, p, _ in fetches if master is not None and p == master)
        workers = max(1, len([p for p in lines if p != master]))
        bound = per_process * workers + inherited
        total_fetches = len(fetches)
        unattributed = sum(1 for _, _, p, _ in fetches if p == 0)
        deadline = self.args.jwks_timeout or 5
        drips = [d for _, a, _, d in fetches if a == "drip"]
        drips_late = [d for d in drips if d > deadline + 0.5]

        out = []
        out.append("")
        out.append(f"== {self.host.label}, scenario {self.args.scenario}: {duration} s, "
                   f"{self.args.connections} wrk connections ==")  # fmt: skip
        out.append("phases:")
        for name, a, b in self.phases:
            out.append(f"  {a:6.1f} - {b:6.1f} s  {name}")
        out.append("events:")
        for t, text in self.events:
            out.append(f"  {t:6.1f} s  {text}")
        out.append("")
        out.append(f"requests served: {served} in {load_seconds:.1f} s of load ({served / max(load_seconds, 1e-9):.0f}/s); "
                   f"latency p99 {p99 * 1000:.0f} ms (worst wrk run), max {worst * 1000:.0f} ms")  # fmt: skip
        out.append(f"wrong answers: {wrong}")
        out.append(f"5xx: {fivexx} ({fivexx - fivexx_cached} with no usable key set, {fivexx_cached} with one); "
                   f"without the SPEC body or Retry-After: {undocumented}")  # fmt: skip
        out.append(f"requests without an answer (wrk socket errors and timeouts): {socket_errors}")
        for name, r in runs.items():
            explained = ", ".join(f"{r['names'][i - 1]}: {n}" for i, n in sorted(r["epochs"].items()))
            out.append(f"  wrk run {name}: {r.get('served', 0)} answers, {r.get('wrong', 0)} wrong; "
                       f"explained by the host holding {explained}")  # fmt: skip
            for s in r["samples"]:
                out.append(f"    wrong: {s}")
        out.append("answers by token kind:")
        merged: dict[str, dict[str, int]] = {}
        for r in runs.values():
            for (kind, answer), n in r["counts"].items():
                by_answer = merged.setdefault(kind, {})
                by_answer[answer] = by_answer.get(answer, 0) + n
        for kind in sorted(merged):
            answers = ", ".join(f"{a}: {n}" for a, n in sorted(merged[kind].items(), key=lambda x: -x[1]))
            out.append(f"  {kind:18} {answers}")
        if outcomes:
            out.append(f"server outcomes (/metrics): {dict(sorted(outcomes.items()))}")
        out.append("")
        out.append(f"JWKS fetches: {total_fetches} ({len(self.issuer.log)} reached the issuer"
                   + (f", {len(self.watcher.unseen)} refused" if self.watcher else "") + ")"
                   + (f"; the server counted {sum(server_fetches.values())} {dict(sorted(server_fetches.items()))}"
                      if self.watcher else ""))  # fmt: skip
        reasons = self.host.reasons()
        if reasons:
            out.append(f"  reasons in the server's log: {dict(sorted(reasons.items()))}")
        if drips:
            out.append(f"  dripped answers cut by the host after {', '.join(f'{d:.1f}' for d in drips)} s "
                       f"(deadline {deadline} s)")  # fmt: skip
        violations: list[str] = []
        for pid, timeline in sorted(lines.items()):
            role = "server" if self.args.host == "serve" else "worker"
            labels, bad, recoveries = self.compliance(timeline, end)
            violations += [f"pid {pid}: {v}" for v in bad]
            out.append(f"  {role} pid {pid}" + (f" (with its master's {inherited} fetch(es) before the fork)"
                                               if inherited else "") + ":")  # fmt: skip
            for (t, answer), label in zip(timeline, labels):
                out.append(f"    {t:6.1f} s  {answer:18} {'installed' if answer == 'good' else 'failed':9}  "
                           f"allowed as: {label}")  # fmt: skip
            for recovery in recoveries:
                out.append(f"    recovery: {recovery}")
        out.append(f"  bound: {bound} = {workers} process(es) x {per_process} ({bound_fresh} refreshes of a good set "
                   f"at most every {MIN_TTL} s over {duration} s + {bound_unknown} unknown-kid refetches + {bound_fail} "
                   "failures under backoff in " + ", ".join(f"{n} {b - a:.0f} s" for n, a, b in windows) + ")"
                   + (f" + {inherited} by the master" if inherited else ""))  # fmt: skip
        out.append(f"  policy violations: {len(violations)}")
        for v in violations:
            out.append(f"    {v}")
        failed = []
        if wrong:
            failed.append(f"{wrong} wrong answers")
        if fivexx_cached:
            failed.append(f"{fivexx_cached} 5xx with a usable key set cached")
        if undocumented:
            failed.append(f"{undocumented} 5xx without the SPEC body or Retry-After")
        if total_fetches > bound:
            failed.append(f"{total_fetches} fetches over the bound of {bound}")
        if violations:
            failed.append(f"{len(violations)} fetches the policy does not allow, or late")
        if socket_errors:
            failed.append(f"{socket_errors} requests without an answer (socket errors or timeouts)")
        if self.watcher is not None and sum(server_fetches.values()) != total_fetches:
            failed.append(f"the server counted {sum(server_fetches.values())} fetches, the issuer and poll saw {total_fetches}")
        if unattributed:
            failed.append(f"{unattributed} fetches not attributed to a host process")
        if drips_late:
            failed.append(f"{len(drips_late)} dripped answers read past the deadline")
        if not complete:
            failed.append("the scenario did not complete within the time budget")
        out.append("")
        out.append("RESULT: " + ("PASS" if not failed else "FAIL: " + "; ".join(failed)))
        out.append(f"(work files: {self.work})")
        print("\n".join(out), flush=True)
        return 1 if failed else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", choices=["serve", "flask"], default="serve")
    p.add_argument("--scenario", choices=["full", "short"], default="full")
    p.add_argument("--bin", help="the cryptr-guard binary (--host serve)")
    p.add_argument("--python", default=sys.executable, help="the Python with cryptr_guard and gunicorn (--host flask)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (--host flask)")
    p.add_argument("--jwks-timeout", type=int, default=0, help="the hosts' JWKS fetch deadline (0: their default, 5 s)")
    p.add_argument("--seconds", type=float, default=120, help="hard time budget")
    p.add_argument("--steady", type=float, default=5)
    p.add_argument("--rotate", type=float, default=8)
    p.add_argument("--back", type=float, default=8)
    p.add_argument("--connections", type=int, default=4, help="wrk threads = connections")
    p.add_argument("--server-cpu", default="0")
    p.add_argument("--load-cpu", default="1")
    args = p.parse_args()
    if args.host == "serve" and not args.bin:
        p.error("--host serve needs --bin")
    return Run(args).main()


if __name__ == "__main__":
    sys.exit(main())
