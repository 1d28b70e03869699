#!/usr/bin/env bash
# The core on aarch64 (issue 13): cross-builds cryptr-guard-core for aarch64-unknown-linux-gnu and
# runs its unit, integration and doc tests under qemu-user, then the core conformance runner built
# for aarch64 over tests/vectors, its output checked against the expectations by the host-built
# cryptr-guard-compare (the comparison itself is not emulated). Emulation says nothing about speed:
# this checks correctness only, and no timing from it is a result.
#
# The linker and the runner are set here through the environment, not in a .cargo/config.toml
# that would affect every build; the aarch64 build has its own target directory and profile
# settings (below). Idempotent; installs what it needs (the rustup target, qemu-user, the aarch64
# cross gcc and libc). Prints `aarch64: N passed, M failed`, N counting the core's tests and the
# conformance cases.
#
# To fit the CI budget under emulation (the host run in `cargo test --workspace` keeps all of it):
# - the core is compiled at opt-level 2, debug assertions and overflow checks still on, no debug
#   info: unoptimised, its RSA kernel made the emulated tests take minutes;
# - PROPTEST_CASES defaults to 64 (the files' own counts are 192 to 1024);
# - rs256_differential's differential_3072_and_4096 is skipped: its time goes to generating
#   3072- and 4096-bit keys with the `rsa` crate, not to the core; those sizes are still checked
#   here by wycheproof_3072/4096, pow_matches_reference and the conformance vectors.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
triple=aarch64-unknown-linux-gnu
sysroot=/usr/aarch64-linux-gnu
host_target=${CARGO_TARGET_DIR:-target}
case "$host_target" in /*) ;; *) host_target="$root/$host_target" ;; esac
cross_target="$host_target/aarch64"

if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$triple"; then
  rustup target add "$triple"
fi
missing=()
command -v qemu-aarch64 >/dev/null 2>&1 || missing+=(qemu-user)
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || missing+=(gcc-aarch64-linux-gnu)
[ -e "$sysroot/lib/crt1.o" ] || missing+=(libc6-dev-arm64-cross)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  # No recommends: qemu-user-binfmt is not needed, cargo calls qemu as the runner.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

qemu=(qemu-aarch64 -L "$sysroot")
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="${qemu[*]}"
cross=(--target "$triple" --target-dir "$cross_target"
  --config 'profile.dev.package.cryptr-guard-core.opt-level = 2' --config 'profile.dev.debug = 0')
export PROPTEST_CASES=${PROPTEST_CASES:-64}
skip=differential_3072_and_4096

passed=0
failed=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

# 1. The core's tests (unit, integration, doc), each test binary run by qemu-aarch64.
#    --no-fail-fast: one failing binary does not hide the others' results.
code=0
cargo test -p cryptr-guard-core --no-fail-fast "${cross[@]}" -- --skip "$skip" 2>&1 |
  tee "$log/test.txt" || code=$?
read -r tests_passed tests_failed < <(awk '
  /^test result: / { for (i = 1; i < NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
  END { print p + 0, f + 0 }' "$log/test.txt")
grep -q '^ *Doc-tests cryptr_guard_core' "$log/test.txt" || { echo "doc tests did not run" >&2; tests_failed=$((tests_failed + 1)); }
[ "$code" -eq 0 ] || [ "$tests_failed" -gt 0 ] || tests_failed=1   # a build failure counts once
passed=$((passed + tests_passed))
failed=$((failed + tests_failed))

# 2. The conformance runner built for aarch64 and run by qemu-aarch64.
cargo build --quiet -p cryptr-guard-conformance --bin cryptr-guard-conformance "${cross[@]}"
runner="$cross_target/$triple/debug/cryptr-guard-conformance"
machine=$(aarch64-linux-gnu-readelf -h "$runner" | awk -F: '/Machine:/ { gsub(/^ +/, "", $2); print $2 }')
if [ "$machine" != AArch64 ]; then
  echo "$runner is not an AArch64 binary ($machine)" >&2
  exit 1
fi
"${qemu[@]}" "$runner" tests/vectors >"$log/core-aarch64.jsonl"
# The host compare, the same build as the test command's core conformance step.
cargo build --quiet --release -p cryptr-guard-conformance --bin cryptr-guard-compare
code=0
"$host_target/release/cryptr-guard-compare" --vectors tests/vectors -- \
  "core-aarch64=$log/core-aarch64.jsonl" | tee "$log/compare.txt" || code=$?
read -r cases_passed cases_failed < <(sed -nE 's/^conformance .*: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$log/compare.txt")
[ "$code" -eq 0 ] || [ "${cases_failed:-0}" -gt 0 ] || cases_failed=1
passed=$((passed + ${cases_passed:-0}))
failed=$((failed + ${cases_failed:-0}))

echo "aarch64 under qemu-user (correctness only, timing not measured): core tests $tests_passed passed, $tests_failed failed ($skip skipped, PROPTEST_CASES=$PROPTEST_CASES); conformance $cases_passed passed, $cases_failed failed"
echo "aarch64: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
