#!/usr/bin/env bash
# The test command: installs what the tests need (idempotent) and runs every test — Rust, the
# no_std build run on an emulated Cortex-M4, C, Python, HTTP, the four-runner conformance, a
# short fuzz run and the supply-chain check. `.ci/run` calls exactly this. Exits non-zero on the
# first failing step.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
start=$(date +%s)
passed=0

step() {
  local name=$1
  shift
  echo
  echo "==> $name ($(( $(date +%s) - start )) s elapsed)"
  if "$@"; then
    passed=$((passed + 1))
  else
    echo "FAILED: $name" >&2
    echo "steps: $passed passed, 1 failed"
    exit 1
  fi
}

run_if_present() {
  local script=$1
  if [ -x "$script" ]; then
    "$script"
  else
    echo "($script not present: skipped)"
  fi
}

setup() {
  if command -v rustup >/dev/null; then
    rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
    rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
    rustup target list --installed | grep -qx thumbv7em-none-eabihf || rustup target add thumbv7em-none-eabihf
  fi
  command -v size >/dev/null || { apt-get update -qq && apt-get install -y -qq binutils; }
}

core_conformance() {
  local out
  out=$(mktemp -d)
  tests/conformance/run core tests/vectors >"$out/core.jsonl"
  cargo run --quiet --release -p cryptr-guard-conformance --bin cryptr-guard-compare -- \
    --vectors tests/vectors -- "core=$out/core.jsonl"
}

# The core's opt-in `serde` feature (typed claims) is off in the workspace runs: lint it and run
# its tests (typed.rs's unit tests, tests/typed_claims.rs, the doctests) with the feature on.
core_serde() {
  cargo clippy -p cryptr-guard-core --all-targets --features serde -- -D warnings &&
    cargo test -p cryptr-guard-core --features serde --lib typed:: &&
    cargo test -p cryptr-guard-core --features serde --test typed_claims &&
    cargo test -p cryptr-guard-core --features serde --doc
}

step "setup" setup
step "cargo fmt --check" cargo fmt --all -- --check
step "cargo clippy -D warnings" cargo clippy --workspace --all-targets -- -D warnings
step "cargo test" cargo test --workspace
step "core feature serde (clippy, typed-claims tests)" core_serde
step "no_std build + bare-metal run (Cortex-M4 under qemu-system-arm)" scripts/baremetal.sh
step "core conformance runner" core_conformance
step "aarch64 under qemu-user" run_if_present scripts/test-aarch64.sh
step "C library" run_if_present scripts/test-ffi.sh
step "Python module + Flask" run_if_present scripts/test-python.sh
step "Python wheel without Rust (the quickstart: two organizations, Flask, FastAPI, Django, serve)" run_if_present scripts/test-wheel.sh
step "differential vs PyJWT and cryptography" run_if_present scripts/test-differential.sh
step "server" run_if_present scripts/test-server.sh
step "cross-host table (Flask, FastAPI, DRF, server)" run_if_present scripts/test-cross-host.sh
step "server deployment files" run_if_present scripts/test-deploy.sh
step "load and faults, both hosts (short)" run_if_present scripts/test-faults.sh
step "four-runner conformance" run_if_present scripts/conformance-all.sh
step "fuzz (short run)" run_if_present scripts/test-fuzz.sh
step "supply chain" run_if_present scripts/test-supply-chain.sh

echo
echo "all steps green in $(( $(date +%s) - start )) s"
echo "steps: $passed passed, 0 failed"
