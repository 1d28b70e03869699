"""Per-request cost of ``cryptr_guard.flask.requires_auth`` in-process (no server, no sockets):
the tutorial app (python/examples/flask_app) called directly as a WSGI application, 4096-bit key,
key set fetched once from a local issuer thread.

Targets, interleaved over rounds, median µs per request:

- ``unprotected``: ``/api/v1/public`` (same app, same CORS handling): the framework's ceiling;
- ``cache on`` / ``cache off``: ``/api/v1/courses`` with the verified-token cache on / off;
- ``validate only (cache on/off)``: the app's ``Guard.validate`` alone (no Flask), for the breakdown.

    taskset -c 1 .venv/bin/python bench/python/bench_flask_inproc.py [--rounds 15] [--n 2000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Dict, List

from benchkit import AUD, TENANT, access_token, rsa_key

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--n", type=int, default=2000, help="requests per target per round")
    parser.add_argument("--bits", type=int, default=4096)
    parser.add_argument("--profile", action="store_true", help="cProfile each target instead of timing")
    args = parser.parse_args()

    private, jwk = rsa_key(args.bits)
    document = json.dumps({"keys": [jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(document)))
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *a: Any) -> None:
            pass

    issuer = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=issuer.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{issuer.server_address[1]}"
    token = access_token(private, f"{base_url}/t/{TENANT}")

    os.environ.update(CRYPTR_BASE_URL=base_url, CRYPTR_TENANT_DOMAIN=TENANT, CRYPTR_AUDIENCE=AUD, CRYPTR_ALLOW_HTTP="true")
    sys.path.insert(0, str(ROOT / "python" / "examples" / "flask_app"))
    import server  # noqa: E402  (the tutorial app, configured from the environment above)
    from werkzeug.test import EnvironBuilder

    app_on = server.create_app({"CRYPTR_TOKEN_CACHE_SIZE": 10000})
    app_off = server.create_app({"CRYPTR_TOKEN_CACHE_SIZE": 0})
    headers = {"Authorization": f"Bearer {token}", "Origin": "http://localhost:8080"}

    def environ(path: str) -> Dict[str, Any]:
        return EnvironBuilder(path=path, headers=headers, base_url="http://127.0.0.1:5000").get_environ()

    def wsgi_call(app: Any, path: str) -> Callable[[], None]:
        base = environ(path)
        status: List[str] = []

        def start_response(s: str, h: Any, exc_info: Any = None) -> Any:
            status.append(s)
            return None

        def call() -> None:
            body = app(dict(base), start_response)
            for _ in body:
                pass
            close = getattr(body, "close", None)
            if close is not None:
                close()

        call()
        if not status[-1].startswith("200"):
            raise SystemExit(f"{path}: {status[-1]}")
        return call

    guard_on = app_on.extensions["cryptr_guard"]
    guard_off = app_off.extensions["cryptr_guard"]
    targets: Dict[str, Callable[[], None]] = {
        "unprotected": wsgi_call(app_on, "/api/v1/public"),
        "cache on": wsgi_call(app_on, "/api/v1/courses"),
        "cache off": wsgi_call(app_off, "/api/v1/courses"),
        "validate only, cache on": lambda: guard_on.validate(token),
        "validate only, cache off": lambda: guard_off.validate(token),
    }
    for f in targets.values():
        for _ in range(200):
            f()

    if args.profile:
        # Per target: the functions it calls beyond the unprotected route (calls and own time per
        # request), then its top functions by own time.
        stats: Dict[str, Dict[str, Any]] = {}
        for name, f in targets.items():
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(args.n):
                f()
            prof.disable()
            st = pstats.Stats(prof)
            stats[name] = {f"{k[0].split('/')[-1]}:{k[1]}({k[2]})": (v[1] / args.n, v[2] / args.n * 1e6)
                           for k, v in st.stats.items()}  # type: ignore[attr-defined]
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(12)
            print(f"\n===== {name} ({args.n} calls)\n{out.getvalue()}")
        base_stats = stats["unprotected"]
        for name in ("cache on", "cache off"):
            print(f"\n===== {name}: beyond the unprotected route (calls/request, own µs/request under cProfile)")
            rows = []
            for fn, (calls, own) in stats[name].items():
                bcalls, bown = base_stats.get(fn, (0.0, 0.0))
                if calls != bcalls:
                    rows.append((own - bown, calls - bcalls, fn))
            for own, calls, fn in sorted(rows, reverse=True):
                print(f"{calls:+6.1f} calls {own:+7.2f} µs  {fn}")
        return

    samples: Dict[str, List[float]] = {name: [] for name in targets}
    clock = time.perf_counter_ns
    for _ in range(args.rounds):
        for name, f in targets.items():
            t0 = clock()
            for _ in range(args.n):
                f()
            samples[name].append((clock() - t0) / args.n / 1000)
    medians = {name: statistics.median(v) for name, v in samples.items()}
    base = medians["unprotected"]
    print(f"\nin-process WSGI calls, RSA-{args.bits}, median of {args.rounds} rounds × {args.n} calls\n")
    print("| target | µs/request | over unprotected | ratio (unprotected / target) |")
    print("| --- | ---: | ---: | ---: |")
    for name, m in medians.items():
        if name.startswith("validate"):
            print(f"| {name} | {m:.1f} | | |")
        else:
            print(f"| {name} | {m:.1f} | {m - base:+.1f} | {base / m * 100:.0f}% |")
    issuer.shutdown()


if __name__ == "__main__":
    main()
