#!/usr/bin/env python3
"""Connection floods on `cryptr-guard serve` (see bench/faults/README.md). Not a test.

Measures, against the server on 127.0.0.1 with a local issuer:

- how long a connection that sends nothing, one that sends half a request head, and one kept
  alive after a request stay open (the header and keep-alive timeouts);
- valid requests (a new connection each, a valid token on /auth) while a flood holds idle
  connections open, either opened once and held (as in the field report), or reopening every
  connection the server closes (the server stays at its limit, turning the flood over, for the
  whole measure). Reported: answered, unanswered (no answer within 10 s), p50, p99 and max
  latency, connections evicted, the server's RSS under and after each flood.

Floods: `ulimit` (the server under `prlimit --nofile=LIMIT`, the flood above that limit) and
`large` (flooders of N connections each against the default limits, phase after phase on one
server, to show the memory bound across floods). Standard library
only; the RSA key, the token and the issuer come from faults.py's harness package.
"""

from __future__ import annotations

import argparse
import os
import selectors
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness.hosts import AUDIENCE  # noqa: E402
from harness.issuer import Issuer  # noqa: E402
from harness.load import free_port, http_get, parse_metrics  # noqa: E402
from harness.tokens import RsaKey, jwt  # noqa: E402


class Server:
    def __init__(self, args: argparse.Namespace, issuer: Issuer, extra: list[str], nofile: int | None, log: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        cmd = ["taskset", "-c", args.server_cpu]
        if nofile:
            cmd += ["prlimit", f"--nofile={nofile}:{nofile}", "--"]
        cmd += [
            args.bin, "serve", "--allow-http", "--bind", f"127.0.0.1:{self.port}", "--issuer", issuer.issuer(),
            "--audience", AUDIENCE, "--jwks-url", issuer.url(), "--workers", "1", *extra,
        ]  # fmt: skip
        self.err = open(log, "w")
        self.proc = subprocess.Popen(cmd, env=dict(os.environ, RUST_LOG="warn"), stdout=subprocess.DEVNULL,
                                     stderr=self.err)  # fmt: skip
        deadline = time.time() + 20
        while http_get(self.base + "/readyz")[0] != 200:
            if time.time() > deadline or self.proc.poll() is not None:
                raise SystemExit(f"the server did not become ready (log: {log})")
            time.sleep(0.05)

    def rss_mb(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def metrics(self) -> dict[tuple[str, str], float]:
        status, text = http_get(self.base + "/metrics", timeout=10)
        return parse_metrics(text) if status == 200 else {}

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.err.close()


def connect(port: int) -> socket.socket | None:
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect_ex(("127.0.0.1", port))
    except OSError:
        s.close()
        return None
    return s


class Flood:
    """Holds `count` idle connections open from a process of its own (so that the measured
    client shares nothing with it): each one the server closes is opened again."""

    def __init__(self, port: int, count: int, cpu: str, reopen: bool):
        cmd = ["taskset", "-c", cpu, sys.executable, os.path.abspath(__file__), "--flooder", str(port), str(count),
               "1" if reopen else "0"]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def stop(self) -> tuple[int, int]:
        """Closes every connection: (connections open at the end, reopened after a close)."""
        out, _ = self.proc.communicate("", timeout=60)
        held, reopened = (int(x) for x in out.split())
        return held, reopened


def flooder(port: int, count: int, reopen: bool) -> None:
    """The flooding process: until its stdin closes."""
    sel = selectors.DefaultSelector()
    opened = reopened = 0
    for _ in range(count):
        s = connect(port)
        if s is not None:
            sel.register(s, selectors.EVENT_READ)
            opened += 1
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    while not done.is_set():
        for key, _ in sel.select(timeout=0.1):
            s = key.fileobj
            assert isinstance(s, socket.socket)
            try:
                data = s.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if data:
                continue
            sel.unregister(s)
            s.close()
            opened -= 1
            if not reopen:
                continue
            fresh = connect(port)
            if fresh is not None:
                sel.register(fresh, selectors.EVENT_READ)
                opened += 1
                reopened += 1
    for key in list(sel.get_map().values()):
        key.fileobj.close()  # type: ignore[union-attr]
    print(opened, reopened, flush=True)


def valid_request(port: int, token: str, timeout: float = 10.0) -> float | None:
    """A GET /auth with a valid token on a new connection: its latency, None without a 200 within
    `timeout`."""
    start = time.monotonic()
    request = f"GET /auth HTTP/1.1\r\nHost: flood\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(max(0.01, timeout - (time.monotonic() - start)))
            s.sendall(request.encode())
            data = b""
            while b"\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    return None
                data += chunk
    except OSError:
        return None
    return time.monotonic() - start if data.startswith(b"HTTP/1.1 200") else None


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def measure(server: Server, token: str, count: int, pace: float) -> dict[str, Any]:
    latencies, unanswered = [], 0
    for _ in range(count):
        latency = valid_request(server.port, token)
        if latency is None:
            unanswered += 1
        else:
            latencies.append(latency)
        time.sleep(pace)
    return {"answered": len(latencies), "unanswered": unanswered, "p50": percentile(latencies, 50),
            "p99": percentile(latencies, 99), "max": max(latencies, default=float("nan"))}  # fmt: skip


def lifetimes(args: argparse.Namespace, issuer: Issuer, token: str, work: str, extra: list[str]) -> list[str]:
    """How long each kind of idle connection stays open."""
    server = Server(args, issuer, extra, None, os.path.join(work, "lifetimes.log"))
    out = []
    try:
        kinds: dict[str, socket.socket] = {}
        kinds["sends nothing"] = socket.create_connection(("127.0.0.1", server.port))
        half = socket.create_connection(("127.0.0.1", server.port))
        half.sendall(b"GET /auth HTTP/1.1\r\nHost: flood\r\nAuthorization: Bearer ")
        kinds["half a request head"] = half
        kept = socket.create_connection(("127.0.0.1", server.port))
        kept.sendall(f"GET /auth HTTP/1.1\r\nHost: flood\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
        kept.settimeout(5)
        reply = kept.recv(65536)
        assert reply.startswith(b"HTTP/1.1 200"), reply[:100]
        kinds["kept alive after a request"] = kept
        start = time.monotonic()
        sel = selectors.DefaultSelector()
        for name, s in kinds.items():
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, name)
        closed: dict[str, float] = {}
        while len(closed) < len(kinds) and time.monotonic() - start < args.lifetime_limit:
            for key, _ in sel.select(timeout=0.2):
                try:
                    data = key.fileobj.recv(4096)  # type: ignore[union-attr]
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    closed[key.data] = time.monotonic() - start
                    sel.unregister(key.fileobj)
        for name, s in kinds.items():
            took = closed.get(name)
            out.append(f"  {name:28} " + (f"closed by the server after {took:.1f} s" if took is not None
                                            else f"STILL OPEN after {args.lifetime_limit:.0f} s"))  # fmt: skip
            s.close()
        sel.close()
        if len(closed) < len(kinds):
            out.append("FAIL: a connection outlived the timeouts")
    finally:
        server.stop()
    return out


def flood(args: argparse.Namespace, issuer: Issuer, token: str, work: str, name: str, nofile: int | None,
          phases: list[tuple[int, int, bool]], extra: list[str]) -> list[str]:  # fmt: skip
    """Floods one server, phase after phase: (flooders, connections each, reopen closed ones)."""
    server = Server(args, issuer, extra, nofile, os.path.join(work, f"flood-{name}.log"))
    out = [f"flood {name}" + (f": server under prlimit --nofile={nofile}" if nofile else ": server with the default limits")
           + (f", flags {' '.join(extra)}" if extra else "")]  # fmt: skip
    failed = []
    try:
        quiet = measure(server, token, min(args.requests, 50), args.pace)
        out.append(f"  valid requests, no flood: {quiet['answered']} answered, {quiet['unanswered']} unanswered, "
                   f"p50 {quiet['p50'] * 1000:.1f} ms, p99 {quiet['p99'] * 1000:.1f} ms; server RSS {server.rss_mb():.1f} MB")  # fmt: skip
        if quiet["unanswered"]:
            failed.append(f"{quiet['unanswered']} valid requests unanswered without a flood")
        for flooders, per_flooder, reopen in phases:
            before = server.metrics()
            floods = [Flood(server.port, per_flooder, args.load_cpu, reopen) for _ in range(flooders)]
            time.sleep(args.settle)
            during = measure(server, token, args.requests, args.pace)
            rss_during = server.rss_mb()
            metrics = server.metrics()
            stopped = [f.stop() for f in floods]
            held = sum(h for h, _ in stopped)
            reopened = sum(r for _, r in stopped)
            drained = time.monotonic()
            while server.metrics().get(("cryptr_guard_connections_open", ""), 0) > 1 and time.monotonic() - drained < 15:
                time.sleep(0.2)
            drained = time.monotonic() - drained
            after = measure(server, token, min(args.requests, 50), args.pace)
            rss_after = server.rss_mb()
            metrics_after = server.metrics()

            def m(key: tuple[str, str], source: dict[tuple[str, str], float] = metrics) -> int:
                return int(source.get(key, 0) - (before.get(key, 0) if source is not before and key[0].endswith("_total") else 0))

            kind = "reopening every connection the server closes" if reopen else "opened once and held"
            out.append(f"  {flooders} x {per_flooder} idle connections, {kind}:")
            out.append(f"    valid requests under flood: {during['answered']} answered, {during['unanswered']} unanswered, "
                       f"p50 {during['p50'] * 1000:.1f} ms, p99 {during['p99'] * 1000:.1f} ms, "
                       f"max {during['max'] * 1000:.1f} ms")  # fmt: skip
            out.append(f"    flood: {held} of its connections open at the end (client side), {reopened} reopened")
            out.append(f"    server: {m(('cryptr_guard_connections_open', ''))} connections open under flood, "
                       f"{m(('cryptr_guard_connections_closed_total', 'evicted'))} evicted, "
                       f"{m(('cryptr_guard_accept_errors_total', ''))} failed accepts; "
                       f"{int(metrics_after.get(('cryptr_guard_connections_open', ''), 0))} open {drained:.1f} s "
                       f"after the flood closed")  # fmt: skip
            out.append(f"    valid requests after the flood: {after['answered']} answered, {after['unanswered']} unanswered, "
                       f"p99 {after['p99'] * 1000:.1f} ms")  # fmt: skip
            out.append(f"    server RSS: {rss_during:.1f} MB under flood, {rss_after:.1f} MB after it")
            for label, r in (("under flood", during), ("after the flood", after)):
                if r["unanswered"]:
                    failed.append(f"{r['unanswered']} valid requests unanswered {label}")
            # A flood that reopens more connections than the limit and the listen queue hold
            # keeps the queue full: a valid SYN may be dropped and retried after 1 s (TCP).
            if during["p99"] > args.max_p99 and not (reopen and flooders * per_flooder > 5000):
                failed.append(f"p99 under flood {during['p99'] * 1000:.0f} ms over {args.max_p99 * 1000:.0f} ms")
    finally:
        server.stop()
    if failed:
        out.append("FAIL: " + "; ".join(failed))
    return out


def memory_rounds(args: argparse.Namespace, issuer: Issuer, work: str, rounds: int) -> list[str]:
    """The server's RSS over `rounds` large floods in a row (held and reopening, alternately)."""
    server = Server(args, issuer, [], None, os.path.join(work, "memory.log"))
    out = [f"memory: {rounds} floods in a row on one server (default limits), RSS at start {server.rss_mb():.1f} MB"]
    try:
        for r in range(rounds):
            reopen = r % 2 == 1
            count = args.large // 2 if reopen else args.large
            floods = [Flood(server.port, count, args.load_cpu, reopen) for _ in range(2)]
            time.sleep(args.settle)
            during = server.rss_mb()
            for f in floods:
                f.stop()
            time.sleep(3)
            out.append(f"  flood {r + 1}: 2 x {count} {'reopening' if reopen else 'held'}: RSS {during:.1f} MB under it, "
                       f"{server.rss_mb():.1f} MB 3 s after")  # fmt: skip
    finally:
        server.stop()
    return out


def main() -> int:
    if sys.argv[1:2] == ["--flooder"]:
        flooder(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1")
        return 0
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", required=True)
    p.add_argument("--load-cpu", default="1")
    p.add_argument("--short", action="store_true", help="the CI version: short timeouts, small floods")
    p.add_argument("--server-cpu", default="0")
    p.add_argument("--requests", type=int, default=200, help="valid requests measured under each flood")
    p.add_argument("--pace", type=float, default=0.02, help="seconds between two valid requests")
    p.add_argument("--settle", type=float, default=5.0, help="seconds for a flood to build up")
    p.add_argument("--max-p99", type=float, default=1.0, help="p99 of valid requests under flood, at most (s)")
    p.add_argument("--large", type=int, default=10000, help="connections per flooder in the large flood")
    p.add_argument("--memory-rounds", type=int, default=0, help="only: the RSS over this many large floods in a row")
    args = p.parse_args()
    work = tempfile.mkdtemp(prefix="cg-flood-")
    rng = __import__("random").SystemRandom()
    key = RsaKey("key-a", 2048, rng)
    issuer = Issuer(free_port(), time.time())
    issuer.keys = [key]
    issuer.up()
    token = jwt({"alg": "RS256", "kid": key.kid}, {"iss": issuer.issuer(), "aud": AUDIENCE, "sub": "flood",
                                                  "exp": int(time.time()) + 3600}, key)  # fmt: skip
    report = [f"== cryptr-guard serve: connection timeouts and floods ({'short' if args.short else 'full'}) =="]
    try:
        if args.memory_rounds:
            report += memory_rounds(args, issuer, work, args.memory_rounds)
        elif args.short:
            args.lifetime_limit = 10.0
            args.requests = min(args.requests, 50)
            report.append("connection lifetimes (--header-timeout 2 --keep-alive-timeout 3):")
            report += lifetimes(args, issuer, token, work, ["--header-timeout", "2", "--keep-alive-timeout", "3"])
            report += flood(args, issuer, token, work, "ulimit", 256, [(1, 300, False), (1, 300, True)], [])
        else:
            args.lifetime_limit = 140.0
            report.append("connection lifetimes (defaults: header timeout 10 s, keep-alive timeout 120 s):")
            result: list[str] = []
            worker = threading.Thread(target=lambda: result.extend(lifetimes(args, issuer, token, work, [])))
            worker.start()
            floods = flood(args, issuer, token, work, "ulimit", 1024, [(1, 1100, False), (1, 1100, True)], [])
            floods += flood(args, issuer, token, work, "large", None,
                            [(2, args.large, False), (2, args.large // 2, True), (2, args.large, False)], [])
            worker.join()
            report += result + floods
    finally:
        issuer.down()
    failed = [line for line in report if line.startswith("FAIL")]
    report.append("")
    report.append("RESULT: " + ("PASS" if not failed else "FAIL"))
    report.append(f"(work files: {work})")
    print("\n".join(report), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
