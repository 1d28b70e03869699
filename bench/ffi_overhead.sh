#!/usr/bin/env bash
# Cost of the C ABI: validate the same valid token (tests/vectors/examples.json, 2048- and
# 4096-bit keys) in a loop through the C library (static and shared) and through the core
# directly, with the same method (median over batches of the mean time per call, one warm-up
# batch; ffi/bench/bench_validate.c and ffi/examples/bench_core.rs). Each process is pinned
# to one CPU with taskset; candidates are interleaved round by round; medians of the rounds and
# ratios to the core are printed. Not a test.
#
#   bench/ffi_overhead.sh [ROUNDS] [BATCHES]        (defaults: 7 rounds of 21 batches)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-7}
batches=${2:-21}
cpu=${CPU:-1}
target=${CARGO_TARGET_DIR:-target}
work="$target/ffi-bench"
mkdir -p "$work"

cargo build --quiet --release -p cryptr-guard-ffi --example bench_core
lib="$target/release"
native=$(cargo rustc -q --release -p cryptr-guard-ffi --crate-type staticlib -- \
  --print native-static-libs 2>&1 | sed -n 's/.*native-static-libs: //p' | tail -n 1)
read -r -a NATIVE <<<"$native"
CFLAGS=(-std=c99 -Wall -Wextra -Wpedantic -Werror -O2 -Iinclude)
gcc "${CFLAGS[@]}" ffi/bench/bench_validate.c "$lib/libcryptr_guard.a" "${NATIVE[@]}" \
  -o "$work/bench_c_static"
ln -sfn libcryptr_guard.so "$lib/libcryptr_guard.so.0"  # the SONAME the program asks for
gcc "${CFLAGS[@]}" ffi/bench/bench_validate.c -L"$lib" -lcryptr_guard -Wl,-rpath,"$lib" \
  -o "$work/bench_c_shared"

python3 - tests/vectors/examples.json "$work" <<'PY'
import json, sys
group = json.load(open(sys.argv[1], encoding="utf-8"))
out = sys.argv[2]
json.dump(group["jwks"], open(f"{out}/jwks.json", "w"))
for c in group["cases"]:
    for bits in ("2048", "4096"):
        if c["name"] == f"examples/valid-{bits}":
            open(f"{out}/token-{bits}", "w").write(c["token"])
            o = c["options"]
            open(f"{out}/args-{bits}", "w").write(
                f'{o["issuer"]}\n{o["audiences"][0]}\n{c["now"]}\n')
PY

median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
spread() { sort -n | awk '{v[NR]=$1} END {printf "%s-%s", v[1], v[NR]}'; }

printf '%-6s %-10s %12s %8s  %s\n' bits candidate "ns/validate" "vs core" "rounds min-max"
for bits in 2048 4096; do
  mapfile -t a <"$work/args-$bits"
  iterations=$([ "$bits" = 2048 ] && echo 400 || echo 150)
  args=("$work/jwks.json" "$work/token-$bits" "${a[0]}" "${a[1]}" "${a[2]}" "$iterations" "$batches")
  : >"$work/core-$bits"; : >"$work/c-static-$bits"; : >"$work/c-shared-$bits"
  for _ in $(seq "$rounds"); do
    taskset -c "$cpu" "$lib/examples/bench_core" "${args[@]}" >>"$work/core-$bits"
    taskset -c "$cpu" "$work/bench_c_static" "${args[@]}" >>"$work/c-static-$bits"
    taskset -c "$cpu" "$work/bench_c_shared" "${args[@]}" >>"$work/c-shared-$bits"
  done
  core=$(median <"$work/core-$bits")
  for cand in core c-static c-shared; do
    m=$(median <"$work/$cand-$bits")
    printf '%-6s %-10s %12s %8s  %s\n' "$bits" "$cand" "$m" \
      "$(awk -v m="$m" -v c="$core" 'BEGIN {printf "%.3f", m / c}')" "$(spread <"$work/$cand-$bits")"
  done
done
