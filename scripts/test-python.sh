#!/usr/bin/env bash
# Tests of the Python part (python/): builds cryptr_guard._native into the repository's .venv,
# runs clippy and the Rust tests of the binding crate (in an embedded interpreter), pytest (module,
# Flask, FastAPI/Starlette (a real uvicorn for the event-loop test) and Django/DRF integrations
# against a real local JWKS issuer), mypy's stubtest and strict type check,
# and the Python conformance runner over every vector compared with the expectations.
# Idempotent; installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export VIRTUAL_ENV="$root/.venv"
# The binding's build scripts and maturin configure PyO3 for the same interpreter: no rebuild
# between the steps below.
export PYO3_PYTHON="$root/.venv/bin/python"

if ! command -v python3 >/dev/null 2>&1 || ! python3 -c "import venv, ensurepip" >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq python3 python3-venv python3-dev >/dev/null
fi
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check \
  "maturin>=1.9.4,<2" "pytest>=8" "flask>=3,<4" "flask-cors>=4" "python-dotenv>=1" \
  "cryptography>=42" "pyjwt>=2.8" "mypy>=1.10" "gunicorn>=22" \
  "fastapi>=0.100" "uvicorn>=0.20" "httpx>=0.27" "django>=4.2" "djangorestframework>=3.14" \
  "django-stubs>=5" "djangorestframework-stubs>=3.14"

echo "== python: build (maturin develop --release)"
.venv/bin/maturin develop --release -q -m python/Cargo.toml

echo "== python: clippy"
cargo clippy -q -p cryptr-guard-py --no-deps --all-targets -- -D warnings

echo "== python: Rust tests of the binding (embedded interpreter, linked with libpython)"
libdir=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR") or "")')
LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
  cargo test -q -p cryptr-guard-py --lib --no-default-features

echo "== python: pytest"
(cd python && ../.venv/bin/python -m pytest -q -p no:cacheprovider tests)

echo "== python: stubtest and mypy --strict"
(cd python && ../.venv/bin/python -m mypy.stubtest cryptr_guard._native && ../.venv/bin/python -m mypy)

echo "== python: conformance"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
tests/conformance/run python tests/vectors >"$out"
cargo build -q --release -p cryptr-guard-conformance
"${CARGO_TARGET_DIR:-$root/target}/release/cryptr-guard-compare" --vectors tests/vectors -- python="$out"
