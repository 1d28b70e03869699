#!/usr/bin/env bash
# The cross-host table (tests/cross_host): Flask under gunicorn, FastAPI under uvicorn, Django REST
# framework under gunicorn and the Rust server (`cryptr-guard serve`), each a real server process
# on 127.0.0.1 with the same CRYPTR_* settings, must answer every row as the core does. Uses the
# .venv that scripts/test-python.sh builds (run it first); installs the servers it lacks.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import cryptr_guard._native" 2>/dev/null; then
  scripts/test-python.sh
fi
.venv/bin/pip install -q --disable-pip-version-check \
  "gunicorn>=21" "uvicorn>=0.20" "fastapi>=0.100" "django>=4.2" "djangorestframework>=3.14" \
  "flask>=3,<4" "pyjwt>=2.8" "cryptography>=42" "pytest>=8"
echo "== cross-host: build the server (cryptr-guard)"
cargo build -q -p cryptr-guard-server --bin cryptr-guard
export CRYPTR_GUARD_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/cryptr-guard"
echo "== cross-host: the table (flask/gunicorn, fastapi/uvicorn, django/gunicorn, server)"
.venv/bin/python -m pytest -q -p no:cacheprovider -W error tests/cross_host
