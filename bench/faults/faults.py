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

The pieces are in the harness package beside this script (harness/__init__.py lists them).
"""

from __future__ import annotations

import argparse
import sys

from harness.scenarios import Run


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
