#!/usr/bin/env python3
"""Load and faults on `cryptr-guard serve` (see bench/faults/README.md). Not a test.

One process plays the token issuer (its JWKS on 127.0.0.1, test-only private keys in memory,
tokens minted here) and directs the run: it starts `cryptr-guard serve` pinned to one CPU and wrk
pinned to another, moves the issuer through its phases (down at start, steady, key rotation,
connection refused, one fault per fetch, back), watches the server's /metrics, and reports the
requests served, the wrong answers, the 5xx and the JWKS fetches against the policy's bound.
Standard library only.
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
FAILING = {"http_500", "invalid_json", "html", "oversized"}  # refused by the server: failed fetch


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
        self.log: list[tuple[float, str]] = []  # (time since t0, answer) for every JWKS request
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
            return [answer for _, answer in self.log]

    def serve(self, h: http.server.BaseHTTPRequestHandler) -> None:
        with self.lock:
            answer = self.queue.pop(0) if self.queue else (self.fault or "good")
            keys = [k.jwk() for k in self.keys]
            # No usable key: an EC key, an RSA key under 2048 bits, the current key marked "enc".
            unusable = self.unusable + [k.jwk(use="enc") for k in self.keys]
            self.log.append((time.time() - self.t0, answer))
        try:
            if answer == "good":
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
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server gave up on an oversized body

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


def http_get(url: str, timeout: float = 2.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
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
        for result in ("network", "timeout"):
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


class Run:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.work = tempfile.mkdtemp(prefix="cg-faults-")
        self.t0 = time.time()
        self.deadline = self.t0 + args.seconds
        self.phases: list[tuple[str, float, float]] = []
        self.events: list[tuple[float, str]] = []
        self.notes: list[str] = []

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
        path = os.path.join(self.work, f"tokens-{name}.tsv")
        with open(path, "w") as f:
            f.write(f"epochs\t{epochs}\n")
            for row in rows:
                f.write("entry\t" + "\t".join(str(x) for x in row) + "\n")
        return path

    def main(self) -> int:
        args = self.args
        rng = random.SystemRandom()
        t = time.time()
        key_a, key_b, key_c, forger = (RsaKey(k, 2048, rng) for k in ("key-a", "key-b", "key-c", "forger"))
        small = RsaKey("small-1024", 1024, rng)
        print(f"faults: four 2048-bit and one 1024-bit test keys in {time.time() - t:.1f} s", flush=True)
        jport, sport = free_port(), free_port()
        self.t0 = time.time()
        self.deadline = self.t0 + args.seconds
        self.issuer = issuer = Issuer(jport, self.t0)
        issuer.unusable = [
            {"kty": "EC", "kid": "ec-1", "crv": "P-256", "x": b64u(b"\x01" * 32), "y": b64u(b"\x02" * 32)},
            small.jwk(),
        ]  # fmt: skip
        base = f"http://127.0.0.1:{sport}"
        server_log = os.path.join(self.work, "server.log")
        env = dict(os.environ, RUST_LOG="warn,cryptr_guard_server::jwks=info")
        server_cmd = [
            "taskset", "-c", args.server_cpu, args.bin, "--log-format", "json", "serve",
            "--allow-http", "--bind", f"127.0.0.1:{sport}", "--issuer", issuer.issuer(),
            "--audience", AUDIENCE, "--jwks-url", issuer.url(), "--workers", "1",
        ]  # fmt: skip
        server = None
        self.runs: dict[str, dict[str, Any]] = {}
        watcher = Watcher(base + "/metrics", self.t0)
        final_metrics: dict[tuple[str, str], float] = {}
        complete = False
        wrk = None

        def load(name: str, epochs: str, cur: RsaKey, prev: RsaKey | None, storm: bool) -> Wrk:
            tokens = self.tokens_file(name, epochs, cur, prev, forger, storm)
            if wrk is not None:
                self.runs[wrk.name] = wrk.finish()
            w = Wrk(args, base, tokens, os.path.join(self.work, f"wrk-{name}.log"))
            w.name, w.epochs = name, epochs.split("|")
            return w

        def fetches_after(n: int) -> bool:
            return len(issuer.answers()) > n

        try:
            # Cold start: the issuer is down (connection refused), nothing is cached: 503
            # jwks_unavailable is the only right answer for a token (header errors are decided
            # before any key set is used).
            phase = self.now()
            self.event(f"issuer down; starting cryptr-guard serve on {base} (CPU {args.server_cpu})")
            server_err = open(server_log, "w")
            server = subprocess.Popen(server_cmd, env=env, stdout=subprocess.DEVNULL, stderr=server_err)
            watcher.thread.start()
            self.wait_until("server listening", lambda: http_get(base + "/healthz")[0] == 200, 15)
            issuer.keys = [key_a]
            wrk = load("1-key-a", "NONE|key-a|key-b", key_a, None, storm=False)
            self.event(f"wrk -t{args.connections} -c{args.connections} (CPU {args.load_cpu}): key-a tokens, no key set cached")
            self.sleep(1.5)
            issuer.up()
            self.event("issuer up, publishing key-a")
            ready = self.wait_until("server ready", lambda: http_get(base + "/readyz")[0] == 200, 20)
            self.event("server ready (key-a fetched)")
            self.phases.append(("cold start: issuer refuses connections, no key set", phase, ready))
            self.sleep(args.steady)
            self.phases.append(("steady: key-a", ready, self.now()))

            # Rotation 1: key-b replaces key-a at the issuer; the load signs with key-b, still
            # sends key-a tokens, and random unknown kids (a refetch storm) from now on.
            phase = self.now()
            n = len(issuer.answers())
            issuer.keys = [key_b]
            self.event("rotation 1: the issuer publishes key-b only (key-a withdrawn)")
            wrk = load("2-key-b", "key-a|key-b|-|key-c", key_b, key_a, storm=True)
            picked = self.wait_until("key-b fetched", lambda: fetches_after(n), 40)
            self.event(f"key-b fetched by the server, {picked - phase:.1f} s after the rotation")
            self.sleep(phase + args.rotate - self.now())
            self.phases.append(("rotation 1: key-a -> key-b, unknown-kid storm starts", phase, self.now()))

            # Down: HTTP 500 on every request until the server has tried once.
            phase = self.now()
            n = len(issuer.answers())
            issuer.fault = "http_500"
            self.event("issuer down: HTTP 500")
            hit = self.wait_until("a fetch during the outage", lambda: fetches_after(n), 70)
            self.event("the server's fetch got the 500")
            self.phases.append(("down: HTTP 500", phase, hit))

            # Back, but broken: one fault per fetch, then good again. Rotation 2 happens while the
            # faults wait for the server's next fetch.
            phase = self.now()
            n = len(issuer.answers())
            issuer.queue = list(FAULTS)
            issuer.fault = None
            self.event("issuer answers again, one fault per fetch: " + ", ".join(FAULTS))
            self.sleep(args.rotate)
            rotation2 = self.now()
            issuer.keys = [key_c]
            self.event("rotation 2: the issuer publishes key-c only (key-b withdrawn)")
            wrk = load("3-key-c", "key-b|-|key-c", key_c, key_b, storm=True)
            self.wait_until("faults fetched", lambda: not issuer.queue, 120)
            faults_end = self.now()
            self.event("every fault fetched")
            self.phases.append(("faults: " + ", ".join(FAULTS) + "; rotation 2 to key-c", phase, faults_end))
            self.wait_until("recovery", lambda: issuer.answers()[-1] == "good"
                            and len(issuer.answers()) > n + len(FAULTS), 60)  # fmt: skip
            back = self.now()
            self.event(f"key-c fetched by the server, {back - faults_end:.1f} s after the last fault, "
                       f"{back - rotation2:.1f} s after rotation 2")  # fmt: skip
            self.sleep(args.back)
            self.phases.append(("back: key-c", faults_end, self.now()))
            complete = True
        except Timeout as e:
            self.event(f"stopped before the scenario was complete: waiting for {e}")
        finally:
            if wrk is not None:
                self.runs[wrk.name] = wrk.finish()
            watcher.stop.set()
            watcher.poll()
            status, text = http_get(base + "/metrics")
            if status == 200:
                final_metrics = parse_metrics(text)
            if server is not None:
                server.send_signal(signal.SIGTERM)
                try:
                    server.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()
                server_err.close()
            issuer.down()
        end = self.now()
        return self.report(self.runs, final_metrics, watcher, server_log, end, complete)

    # --- report ---------------------------------------------------------------------------------

    def fetch_timeline(self, watcher: Watcher) -> list[tuple[float, str, bool]]:
        fetches = [(t, a, a in ("good", "no_usable_key")) for t, a in self.issuer.log]
        fetches += [(t, f"connection {r}" if r == "network" else r, False) for t, r in watcher.unseen]
        return sorted(fetches)

    @staticmethod
    def compliance(fetches: list[tuple[float, str, bool]]) -> tuple[list[str], list[str]]:
        """Checks each fetch against the policy, in whole seconds as the server's clock counts,
        with 1 s of tolerance per interval (the refused attempts are timed by the 0.1 s poll).
        A fetch is allowed when the backoff has lifted and either no good set is cached, or the
        set is at least MIN_TTL old, or (an unknown-key refetch) the last one was at least
        UNKNOWN_KEY_COOLDOWN ago. Returns each fetch's label and the violations."""
        installed = None
        failures, last_failure, last_unknown = 0, 0.0, None
        labels, violations = [], []
        for t, answer, ok in fetches:
            backoff = min(BACKOFF_INITIAL * 2 ** (failures - 1), BACKOFF_MAX) if failures else 0
            if failures and t - last_failure < backoff - 1:
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
            if ok:
                installed, failures = t, 0
            else:
                failures, last_failure = failures + 1, t
        return labels, violations

    @staticmethod
    def streak_bound(seconds: float) -> int:
        """The most fetches a backoff of 1, 2, 4, ... s allows in `seconds`, each gap up to 1 s
        shorter (whole-second clock): k fetches need 2^(k-1) - k seconds."""
        k = 1
        while 2 ** k - (k + 1) <= seconds + 1:
            k += 1
        return k

    def report(self, runs: dict[str, Any], metrics: dict[tuple[str, str], float], watcher: Watcher, server_log: str,
               end: float, complete: bool) -> int:  # fmt: skip
        served = sum(r.get("served", 0) for r in runs.values())
        wrong = sum(r.get("wrong", 0) for r in runs.values())
        fivexx = sum(r.get("fivexx", 0) for r in runs.values())
        fivexx_cached = sum(r.get("fivexx_cached", 0) for r in runs.values())
        socket_errors = sum(r.get(f"errors_{n}", 0) for r in runs.values()
                            for n in ("connect", "read", "write", "timeout"))  # fmt: skip
        load_seconds = sum(r.get("duration_us", 0) for r in runs.values()) / 1e6
        fetches = self.fetch_timeline(watcher)
        labels, violations = self.compliance(fetches)
        server_fetches = {k[1]: int(v) for k, v in metrics.items() if k[0] == "cryptr_guard_jwks_fetches_total"}
        outcomes = {k[1]: int(v) for k, v in metrics.items() if k[0] == "cryptr_guard_requests_total"}

        # The bound: successes that refresh an old set come at most once per MIN_TTL, unknown-kid
        # refetches at most once per cooldown, and failures only while the issuer fails, within
        # the backoff's reach for that window's length.
        duration = math.ceil(end)
        windows = []
        cold = next((p for p in self.phases if p[0].startswith("cold")), None)
        if cold:
            up = next(t for t, e in self.events if e.startswith("issuer up"))
            windows.append(("cold start (down)", cold[1], up))
        down = next((p for p in self.phases if p[0].startswith("down")), None)
        faults = next((p for p in self.phases if p[0].startswith("faults")), None)
        if down:
            last_fault = max((t for t, a in self.issuer.log if a in FAILING), default=down[2])
            windows.append(("outage + faults", down[1], last_fault if faults else end))
        bound_fresh = duration // MIN_TTL + 1
        bound_unknown = duration // UNKNOWN_KEY_COOLDOWN + 1
        bound_fail = sum(self.streak_bound(b - a) for _, a, b in windows)
        bound = bound_fresh + bound_unknown + bound_fail
        total_fetches = sum(server_fetches.values())

        reasons: dict[str, int] = {}
        with open(server_log, errors="replace") as f:
            for line in f:
                try:
                    fields = json.loads(line).get("fields", {})
                except ValueError:
                    continue
                if fields.get("message") in ("JWKS fetched", "JWKS fetch failed"):
                    reasons[fields.get("reason", "?")] = reasons.get(fields.get("reason", "?"), 0) + 1

        out = []
        out.append("")
        out.append(f"== cryptr-guard serve under load and issuer faults: {duration} s, "
                   f"{self.args.connections} connections ==")  # fmt: skip
        out.append("phases:")
        for name, a, b in self.phases:
            out.append(f"  {a:6.1f} - {b:6.1f} s  {name}")
        out.append("events:")
        for t, text in self.events:
            out.append(f"  {t:6.1f} s  {text}")
        out.append("")
        out.append(f"requests served: {served} in {load_seconds:.1f} s of load ({served / max(load_seconds, 1e-9):.0f}/s)")
        out.append(f"wrong answers: {wrong}")
        out.append(f"5xx: {fivexx} ({fivexx - fivexx_cached} with no key set cached, {fivexx_cached} with one cached)")
        out.append(f"socket errors and timeouts (wrk): {socket_errors}")
        for name, r in runs.items():
            explained = ", ".join(f"{r['names'][i - 1]}: {n}" for i, n in sorted(r["epochs"].items()))
            out.append(f"  wrk run {name}: {r.get('served', 0)} answers, {r.get('wrong', 0)} wrong; "
                       f"explained by the server holding {explained}")  # fmt: skip
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
        out.append(f"server outcomes (/metrics): {dict(sorted(outcomes.items()))}")
        out.append("")
        out.append(f"JWKS fetches: {total_fetches} by the server's count {dict(sorted(server_fetches.items()))}; "
                   f"{len(self.issuer.log)} reached the issuer, {len(watcher.unseen)} refused")  # fmt: skip
        out.append(f"  reasons in the server's log: {dict(sorted(reasons.items()))}")
        for (t, answer, ok), label in zip(fetches, labels):
            out.append(f"  {t:6.1f} s  {answer:18} {'installed' if ok else 'failed':9}  allowed as: {label}")
        out.append(f"  bound: {bound} = {bound_fresh} (a good set refreshed at most every {MIN_TTL} s over {duration} s)"
                   f" + {bound_unknown} (unknown-kid refetches, one per {UNKNOWN_KEY_COOLDOWN} s)"
                   f" + {bound_fail} (failures under backoff in "
                   + ", ".join(f"{n} {b - a:.0f} s" for n, a, b in windows) + ")")  # fmt: skip
        out.append(f"  policy violations: {len(violations)}")
        for v in violations:
            out.append(f"    {v}")
        failed = []
        if wrong:
            failed.append(f"{wrong} wrong answers")
        if fivexx_cached:
            failed.append(f"{fivexx_cached} 5xx with a key set cached")
        if total_fetches > bound or len(fetches) > bound:
            failed.append(f"{max(total_fetches, len(fetches))} fetches over the bound of {bound}")
        if violations:
            failed.append(f"{len(violations)} fetches the policy does not allow")
        if socket_errors:
            failed.append(f"{socket_errors} socket errors or timeouts")
        if total_fetches != len(fetches):
            failed.append(f"the server counted {total_fetches} fetches, the issuer and poll saw {len(fetches)}")
        if not complete:
            failed.append("the scenario did not complete within the time budget")
        out.append("")
        out.append("RESULT: " + ("PASS" if not failed else "FAIL: " + "; ".join(failed)))
        out.append(f"(work files: {self.work})")
        print("\n".join(out))
        return 1 if failed else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", required=True, help="the cryptr-guard binary")
    p.add_argument("--seconds", type=float, default=120, help="hard time budget")
    p.add_argument("--steady", type=float, default=5)
    p.add_argument("--rotate", type=float, default=8)
    p.add_argument("--back", type=float, default=8)
    p.add_argument("--connections", type=int, default=4, help="wrk threads = connections")
    p.add_argument("--server-cpu", default="0")
    p.add_argument("--load-cpu", default="1")
    return Run(p.parse_args()).main()


if __name__ == "__main__":
    sys.exit(main())
