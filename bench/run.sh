#!/usr/bin/env bash
# RS256 verification benchmarks, cryptr-guard-core against the `rsa` crate and aws-lc-rs, with a
# cached key, pinned to one core (taskset -c 1, or BENCH_CPU).
#
#   bench/run.sh                  criterion, every bench: rs256.rs, then validate.rs
#   bench/run.sh rs256|validate   criterion, one bench; extra arguments go to it
#   bench/run.sh --quick [ROUNDS] interleaved comparison (bench/examples/compare.rs): every
#                                 kernel this CPU has, aws-lc-rs and rsa, medians and ratios;
#                                 it holds up on a busy machine
#
# bench/ is a workspace of its own (aws-lc-rs builds C code; it stays out of the main
# workspace) with its target directory in bench/target.
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cpu="${BENCH_CPU:-1}"

if [[ "${1:-}" == "--quick" ]]; then
    shift
    cargo build --release --example compare
    exec taskset -c "$cpu" "$CARGO_TARGET_DIR/release/examples/compare" "$@"
fi

benches=(rs256 validate)
if [[ "${1:-}" == "rs256" || "${1:-}" == "validate" ]]; then
    benches=("$1")
    shift
fi
for bench in "${benches[@]}"; do
    # Build unpinned, measure pinned.
    cargo bench --bench "$bench" --no-run
    taskset -c "$cpu" cargo bench --bench "$bench" -- "$@"
done
