"""The tutorial's Flask app under gunicorn (2 sync workers) with wrk, 4096-bit key:

- ``unprotected``: the cryptr_guard app's unprotected route (the framework's ceiling);
- ``cryptr_guard, token cache on`` / ``off``: the tutorial app on cryptr_guard.flask
  (python/examples/flask_app), the key set fetched once and cached per SPEC §4;
- ``tutorial (python-jose)``: bench/tutorial/server.py as the tutorial writes it, fetching the
  JWKS on every request from a local plain-HTTP issuer.

Servers are pinned to CPU 1, wrk and the issuer to CPU 0, all at nice -15 when run as root; targets are interleaved over rounds and
the median requests/s reported with ratios from the same run. Needs `wrk` (apt) and gunicorn.

    .venv/bin/python bench/python/bench_flask.py [--rounds 3] [--seconds 5]
"""

from __future__ import annotations

import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Dict, List

from benchkit import AUD, TENANT, issuer_tree, print_samples, stop, wrk_args

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
# Higher priority than the machine's other work (builds) when allowed (root), to cut the noise.
NICE = ["nice", "-n", "-15"] if os.geteuid() == 0 else []


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_http(url: str, headers: Dict[str, str], timeout: float = 20) -> int:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:
                return int(r.status)
        except urllib.error.HTTPError as e:
            return int(e.code)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def wrk(url: str, token: str, seconds: int, connections: int) -> float:
    out = subprocess.run(
        [*NICE, "taskset", "-c", "0", "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-H", f"Authorization: Bearer {token}", url],
        check=True, capture_output=True, text=True,
    ).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"wrk saw errors for {url}:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not match:
        raise SystemExit(f"no Requests/sec in wrk output:\n{out}")
    return float(match.group(1))


def main() -> None:
    args = wrk_args()
    issuer_port = free_port()
    work, base_url, token = issuer_tree(args.bits, issuer_port)

    procs: List[subprocess.Popen[bytes]] = []
    env_base = dict(os.environ, CRYPTR_BASE_URL=base_url, CRYPTR_TENANT_DOMAIN=TENANT, CRYPTR_AUDIENCE=AUD)

    def start(cmd: List[str], cpu: str, env: Dict[str, str], cwd: Path) -> None:
        procs.append(subprocess.Popen([*NICE, "taskset", "-c", cpu, *cmd], env=env, cwd=cwd,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    try:
        start([str(VENV_BIN / "python"), "-m", "http.server", "--bind", "127.0.0.1", str(issuer_port)], "0", env_base, work)
        servers = {}
        for name, cwd, extra in [
            ("tutorial", ROOT / "bench" / "tutorial", {}),
            ("cache_on", ROOT / "python" / "examples" / "flask_app", {"CRYPTR_ALLOW_HTTP": "true", "CRYPTR_TOKEN_CACHE_SIZE": "10000"}),
            ("cache_off", ROOT / "python" / "examples" / "flask_app", {"CRYPTR_ALLOW_HTTP": "true", "CRYPTR_TOKEN_CACHE_SIZE": "0"}),
        ]:
            port = free_port()
            start([str(VENV_BIN / "gunicorn"), "-w", "2", "-k", "sync", "-b", f"127.0.0.1:{port}", "--log-level", "warning", "server:app"],
                  "1", dict(env_base, **extra), cwd)
            servers[name] = f"http://127.0.0.1:{port}"
        auth = {"Authorization": f"Bearer {token}"}
        targets = {
            "unprotected route": servers["cache_on"] + "/api/v1/public",
            "cryptr_guard, token cache on": servers["cache_on"] + "/api/v1/courses",
            "cryptr_guard, token cache off": servers["cache_off"] + "/api/v1/courses",
            "tutorial (python-jose, JWKS per request)": servers["tutorial"] + "/api/v1/courses",
        }
        for name, url in targets.items():
            for _ in range(4):  # both workers: fetch the keys, warm up
                status = wait_http(url, auth)
                if status != 200:
                    raise SystemExit(f"{name}: HTTP {status}")
        samples: Dict[str, List[float]] = {name: [] for name in targets}
        for _ in range(args.rounds):
            for name, url in targets.items():
                samples[name].append(wrk(url, token, args.seconds, args.connections))
        medians = {name: statistics.median(v) for name, v in samples.items()}
        print(f"\n### Flask app, gunicorn 2 sync workers (CPU 1), wrk -c{args.connections} (CPU 0), RSA-{args.bits}, "
              f"median of {args.rounds} × {args.seconds} s\n")
        # Ratios within each round (the four targets measured back to back), then their median:
        # steadier than a ratio of medians when the machine's load drifts during the run.
        names = list(targets)
        def round_ratio(name: str, base: str) -> float:
            return statistics.median(a / b for a, b in zip(samples[name], samples[base]))
        print("| target | req/s (median) | of unprotected (median of per-round ratios) | vs tutorial (same) |")
        print("| --- | ---: | ---: | ---: |")
        for name in names:
            print(f"| {name} | {medians[name]:.0f} | {round_ratio(name, names[0]) * 100:.0f}% | "
                  f"{round_ratio(name, names[-1]):.1f}× |")
        print_samples(samples)
    finally:
        stop(procs, work)


if __name__ == "__main__":
    main()
