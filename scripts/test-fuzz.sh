#!/usr/bin/env bash
# Test-command entry for the fuzzing part: installs cargo-fuzz if missing (crates.io), then runs
# every fuzz target for a SHORT time (default 15 s each; FUZZ_SECONDS overrides) and fails on any
# crash, hang, leak or out-of-memory. The long run is `scripts/fuzz.sh 300` (see fuzz/README.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "test-fuzz: the nightly toolchain is required (rustup toolchain install nightly)" >&2
    exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}/fuzz"
scripts/fuzz.sh "${FUZZ_SECONDS:-15}"
