#!/usr/bin/env bash
# One behaviour everywhere: the same table of requests to the Flask integration under gunicorn and
# to `cryptr-guard serve`, both configured with the same CRYPTR_* settings for two organizations of
# a loopback issuer (tests/cross_host/). Needs the .venv that scripts/test-python.sh builds (the
# cryptr_guard module installed in it); adds gunicorn there and builds the server. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import cryptr_guard" 2>/dev/null; then
  echo "test-cross-host: the .venv with cryptr_guard is missing: run scripts/test-python.sh first" >&2
  exit 1
fi
.venv/bin/pip install -q --disable-pip-version-check "gunicorn>=22" "cryptography>=42"
cargo build -q --release -p cryptr-guard-server
export CRYPTR_GUARD_BIN="${CARGO_TARGET_DIR:-$root/target}/release/cryptr-guard"
cd tests/cross_host
"$root/.venv/bin/python" -m pytest -q test_cross_host.py
