#!/usr/bin/env bash
# The no_std proof: builds cryptr-guard-core alone for thumbv7em-none-eabihf, links it into the
# bare-metal example (opt-level "z", LTO; the core's `serde` feature reads `sub` and `scope` into
# heapless strings), reports its flash (.text + .rodata) and checks the budget; then runs the same
# validation on the host with a counting allocator and checks its peak heap against the budget.
set -euo pipefail
cd "$(dirname "$0")/.."
target=thumbv7em-none-eabihf
max_flash=${MAX_FLASH:-40960}   # 40 KB
max_heap=${MAX_HEAP:-4096}      # 4 KiB per validation

if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$target"; then
  rustup target add "$target"
fi

# The core alone (no host crate unifies features into it), for a target without std.
cargo build --quiet --release -p cryptr-guard-core --target "$target"

cd examples/baremetal
cargo build --quiet --release --target "$target"
elf="target/$target/release/cryptr-guard-baremetal"
read -r text rodata < <(size -A "$elf" | awk '$1==".text"{t=$2} $1==".rodata"{r=$2} END{print t, r}')
flash=$((text + rodata))
echo "bare-metal example ($target, opt-level z, LTO): .text $text + .rodata $rodata = $flash bytes of flash (budget $max_flash; of which ~2.7 KB is the fixture's JWKS and token)"
if [ "$flash" -gt "$max_flash" ]; then
  echo "FAIL: flash $flash > $max_flash" >&2
  exit 1
fi
line=$(cargo run --quiet --release)
echo "host run of the same validation: $line"
heap=$(sed -E 's/.*peak heap ([0-9]+) bytes.*/\1/' <<<"$line")
echo "peak heap of one validation: $heap bytes (budget $max_heap)"
if [ "$heap" -gt "$max_heap" ]; then
  echo "FAIL: peak heap $heap > $max_heap" >&2
  exit 1
fi
echo "baremetal: 2 passed, 0 failed"
