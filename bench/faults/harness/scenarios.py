"""The scenarios: one run directs the issuer through its phases under wrk load on one host, then
hands what it saw to the report.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import tempfile
import time
from typing import Any, Callable

from .hosts import AUDIENCE, FlaskHost, Host, ServeHost, socket_owner
from .issuer import DRIP_INTERVAL, FAULTS, Issuer
from .load import Watcher, Wrk, free_port, http_get, parse_metrics
from .report import report
from .tokens import RsaKey, b64u, jwt


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
        return report(self, metrics, self.now(), complete)

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
        return report(self, metrics, self.now(), complete)

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
