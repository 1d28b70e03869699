#!/usr/bin/env bash
# Load, issuer faults and connection floods on `cryptr-guard serve` and on the Flask example under
# gunicorn (a script, not a test; see bench/faults/README.md).
#
#   bench/faults/run.sh [SECONDS]       everything, with the release binary (about 8 minutes):
#                                       the full scenario on each host, the short scenario on each
#                                       host with the default 5 s fetch deadline, the floods
#   bench/faults/run.sh --short         the CI version (about 80 s): the short scenario on each host
#                                       with a 2 s fetch deadline, the short flood; debug binary
#
# SECONDS is the hard time budget of each scenario (default 120). The issuer (faults.py: loopback
# only, test keys in memory) directs each run: host pinned to CPU 0, wrk and the issuer to CPU 1
# (SERVER_CPU / LOAD_CPU; CONNECTIONS sets wrk's connections, one per thread). Exits non-zero on a
# wrong answer, a 5xx that is not a documented 503 (JSON body, Retry-After) or that came while a
# usable key set was cached, a request without an answer, a JWKS fetch the policy does not allow
# or over its bound, a late recovery, a dripped fetch read past its deadline, a connection that
# outlives the timeouts, a valid request unanswered (or slow) under a flood, or a scenario that did
# not complete in its budget. CRYPTR_GUARD_BIN=path runs that binary instead of building one; the
# Flask host needs .venv with cryptr_guard and gunicorn (scripts/test-python.sh makes it).
set -euo pipefail
cd "$(dirname "$0")/../.."
short=0
if [ "${1:-}" = "--short" ]; then
  short=1
  shift
fi
seconds=${1:-120}
target="${CARGO_TARGET_DIR:-$PWD/target}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
command -v taskset >/dev/null && command -v prlimit >/dev/null ||
  { apt-get update -qq && apt-get install -y -qq util-linux; }
bin=${CRYPTR_GUARD_BIN:-}
if [ -z "$bin" ]; then
  if [ "$short" = 1 ]; then
    cargo build --quiet -p cryptr-guard-server --bin cryptr-guard
    bin="$target/debug/cryptr-guard"
  else
    cargo build --quiet --release -p cryptr-guard-server --bin cryptr-guard
    bin="$target/release/cryptr-guard"
  fi
fi
python=python3
[ -x .venv/bin/python ] && python=.venv/bin/python
if ! "$python" -c "import cryptr_guard, gunicorn" 2>/dev/null; then
  echo "bench/faults: the Flask host needs cryptr_guard and gunicorn in .venv (run scripts/test-python.sh)" >&2
  exit 2
fi
cpus=(--server-cpu "${SERVER_CPU:-0}" --load-cpu "${LOAD_CPU:-1}")
status=0
scenario() {
  timeout --signal=INT --kill-after=30 "$((seconds + 60))" \
    taskset -c "${LOAD_CPU:-1}" "$python" bench/faults/faults.py --bin "$bin" --python "$python" \
    --seconds "$seconds" --connections "${CONNECTIONS:-4}" "${cpus[@]}" "$@" || status=1
}
if [ "$short" = 1 ]; then
  scenario --host serve --scenario short --jwks-timeout 2 --steady 3
  scenario --host flask --scenario short --jwks-timeout 2 --steady 3
  timeout 300 "$python" bench/faults/flood.py --bin "$bin" --short "${cpus[@]}" || status=1
else
  scenario --host serve --scenario full
  scenario --host flask --scenario full
  scenario --host serve --scenario short
  scenario --host flask --scenario short
  timeout 900 "$python" bench/faults/flood.py --bin "$bin" "${cpus[@]}" || status=1
fi
echo
if [ "$status" = 0 ]; then echo "bench/faults: every run passed"; else echo "bench/faults: a run FAILED (see above)"; fi
exit "$status"
