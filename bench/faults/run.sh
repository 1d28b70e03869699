#!/usr/bin/env bash
# Load and faults on `cryptr-guard serve` (not a test; see bench/faults/README.md).
#
#   bench/faults/run.sh [SECONDS]     (hard time budget, default 120; the scenario takes about 90 s)
#
# Builds the release binary, installs wrk if missing, then bench/faults/faults.py plays the issuer
# (loopback only, test keys in memory) and directs the run: server pinned to CPU 0, wrk and the
# issuer to CPU 1 (override with SERVER_CPU / LOAD_CPU; CONNECTIONS sets wrk's connections, one
# per thread). Exits non-zero on a wrong answer, a 5xx while a key set is cached, a JWKS fetch the
# policy does not allow or over its bound, or a scenario that did not complete in the budget.
# CRYPTR_GUARD_BIN=path runs that binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-120}
target="${CARGO_TARGET_DIR:-$PWD/target}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
command -v taskset >/dev/null || { apt-get update -qq && apt-get install -y -qq util-linux; }
bin=${CRYPTR_GUARD_BIN:-}
if [ -z "$bin" ]; then
  cargo build --quiet --release -p cryptr-guard-server --bin cryptr-guard
  bin="$target/release/cryptr-guard"
fi
python=python3
[ -x .venv/bin/python ] && python=.venv/bin/python
exec timeout --signal=INT --kill-after=30 "$((seconds + 60))" \
  taskset -c "${LOAD_CPU:-1}" "$python" bench/faults/faults.py \
  --bin "$bin" --seconds "$seconds" \
  --connections "${CONNECTIONS:-4}" --server-cpu "${SERVER_CPU:-0}" --load-cpu "${LOAD_CPU:-1}"
