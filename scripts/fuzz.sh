#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for SECONDS each (default 30), one after the other, seeded
# from tests/vectors/ (fuzz/seed.sh). Fails on any crash, panic, hang (-timeout), leak
# (LeakSanitizer) or out-of-memory (-rss_limit_mb). Prints one line per target with the
# executions reached, and writes the libFuzzer logs to fuzz/logs/.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Environment: FUZZ_CPU=N pins the runs to core N with taskset; CARGO_TARGET_DIR as usual.
# Needs the nightly toolchain and cargo-fuzz (scripts/test-fuzz.sh installs it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds="${1:-30}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    targets=(validate jwks json claims cache_policy rs256_kernels)
fi

pin=()
if [ -n "${FUZZ_CPU:-}" ]; then
    pin=(taskset -c "$FUZZ_CPU")
fi

# Release build with debug assertions and overflow checks, AddressSanitizer (cargo-fuzz default).
build_flags=(-O -a)
(cd fuzz && "${pin[@]}" cargo +nightly fuzz build "${build_flags[@]}" >/dev/null)
fuzz/seed.sh
mkdir -p fuzz/logs

failed=0
passed=0
for target in "${targets[@]}"; do
    case "$target" in
        jwks) max_len=32768 ;;
        validate) max_len=16384 ;;
        *) max_len=8192 ;;
    esac
    log="fuzz/logs/$target.log"
    status=0
    (cd fuzz && "${pin[@]}" cargo +nightly fuzz run "${build_flags[@]}" "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
        -max_len="$max_len" -print_final_stats=1 -detect_leaks=1) >"$log" 2>&1 || status=$?
    execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)"
    corpus="$(ls "fuzz/corpus/$target" | wc -l)"
    if [ "$status" -eq 0 ] && ! grep -qE 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|panicked at' "$log"; then
        echo "fuzz $target: ok, ${execs:-?} executions in ${seconds}s, corpus $corpus"
        passed=$((passed + 1))
    else
        echo "fuzz $target: FAILED (exit $status), ${execs:-?} executions; see $log and fuzz/artifacts/$target/"
        grep -E 'ERROR:|panicked at|SUMMARY|Test unit written' "$log" | head -20 || true
        failed=$((failed + 1))
    fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
