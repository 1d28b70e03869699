"""The FastAPI example (python/examples/fastapi_app) under uvicorn, one worker, with wrk, 4096-bit key:

- ``unprotected``: the app's unprotected route (the framework's ceiling);
- ``cryptr_guard, token cache on`` / ``off``: ``/api/v1/courses`` behind ``Depends(guard)``, the
  key set fetched once at start-up (the example's lifespan) and cached per SPEC §4.

The server is pinned to CPU 1, wrk and the issuer to CPU 0, all at nice -15 when run as root;
targets are interleaved over rounds, and the ratios are the median of the per-round ratios. Needs
`wrk` (apt) and uvicorn. Indicative only on a busy machine.

    .venv/bin/python bench/python/bench_fastapi.py [--rounds 3] [--seconds 5]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

from bench_flask import NICE, free_port, wait_http, wrk
from benchkit import AUD, TENANT, issuer_tree, print_samples, stop, wrk_args

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def main() -> None:
    args = wrk_args()
    issuer_port = free_port()
    work, base_url, token = issuer_tree(args.bits, issuer_port)

    procs: List[subprocess.Popen[bytes]] = []
    env_base = dict(os.environ, CRYPTR_BASE_URL=base_url, CRYPTR_TENANT_DOMAIN=TENANT, CRYPTR_AUDIENCE=AUD,
                    CRYPTR_ALLOW_HTTP="true")

    def start(cmd: List[str], cpu: str, env: Dict[str, str], cwd: Path) -> None:
        procs.append(subprocess.Popen([*NICE, "taskset", "-c", cpu, *cmd], env=env, cwd=cwd,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    try:
        start([str(VENV_BIN / "python"), "-m", "http.server", "--bind", "127.0.0.1", str(issuer_port)], "0", env_base, work)
        app = ROOT / "python" / "examples" / "fastapi_app"
        servers = {}
        for name, cache in [("cache_on", "10000"), ("cache_off", "0")]:
            port = free_port()
            start([str(VENV_BIN / "python"), "-m", "uvicorn", "main:app", "--workers", "1", "--port", str(port),
                   "--log-level", "warning", "--no-access-log"], "1", dict(env_base, CRYPTR_TOKEN_CACHE_SIZE=cache), app)
            servers[name] = f"http://127.0.0.1:{port}"
        targets = {
            "unprotected route": servers["cache_on"] + "/api/v1/public",
            "cryptr_guard, token cache on": servers["cache_on"] + "/api/v1/courses",
            "cryptr_guard, token cache off": servers["cache_off"] + "/api/v1/courses",
        }
        auth = {"Authorization": f"Bearer {token}"}
        for name, url in targets.items():
            for _ in range(3):
                status = wait_http(url, auth)
                if status != 200:
                    raise SystemExit(f"{name}: HTTP {status}")
        samples: Dict[str, List[float]] = {name: [] for name in targets}
        for _ in range(args.rounds):
            for name, url in targets.items():
                samples[name].append(wrk(url, token, args.seconds, args.connections))
        medians = {name: statistics.median(v) for name, v in samples.items()}
        names = list(targets)

        def round_ratio(name: str) -> float:
            return statistics.median(a / b for a, b in zip(samples[name], samples[names[0]]))

        print(f"\n### FastAPI example, uvicorn 1 worker (CPU 1), wrk -c{args.connections} (CPU 0), RSA-{args.bits}, "
              f"median of {args.rounds} × {args.seconds} s\n")
        print("| target | req/s (median) | of unprotected (median of per-round ratios) |")
        print("| --- | ---: | ---: |")
        for name in names:
            print(f"| {name} | {medians[name]:.0f} | {round_ratio(name) * 100:.0f}% |")
        print_samples(samples)
    finally:
        stop(procs, work)


if __name__ == "__main__":
    main()
