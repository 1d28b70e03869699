#!/usr/bin/env bash
# Differential tests (issue 6 items 2 and 4), bounded: cryptr_guard against PyJWT on generated and
# mutated tokens and key sets (every disagreement must be a documented intended difference), and
# the core's RS256 check against `cryptography`. Needs the module built into .venv by
# scripts/test-python.sh (builds it the same way when missing). CG_DIFF_LONG=1 for the long run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export VIRTUAL_ENV="$root/.venv"

if [ ! -x .venv/bin/python ]; then
  if ! command -v python3 >/dev/null 2>&1 || ! python3 -c "import venv, ensurepip" >/dev/null 2>&1; then
    apt-get update -qq
    apt-get install -y -qq python3 python3-venv python3-dev >/dev/null
  fi
  python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check \
  "pytest>=8" "hypothesis>=6.100" "pyjwt[crypto]==2.15.1" "cryptography>=42"

if ! .venv/bin/python -c "import cryptr_guard._native" >/dev/null 2>&1; then
  echo "== differential: building cryptr_guard (maturin develop --release)"
  .venv/bin/pip install -q --disable-pip-version-check "maturin>=1.9.4,<2"
  .venv/bin/maturin develop --release -q -m python/Cargo.toml
fi

echo "== differential: pytest tests/differential"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
set +e
.venv/bin/python -m pytest -q -p no:cacheprovider tests/differential "$@" >"$out" 2>&1
status=$?
set -e
if [ "$status" -ne 0 ]; then
  cat "$out"
else
  # The tallies and pytest's summary line.
  sed -n '/differential tallies/,$p' "$out"
fi
exit "$status"
