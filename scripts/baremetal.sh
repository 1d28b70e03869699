#!/usr/bin/env bash
# The no_std proof, built and run: builds cryptr-guard-core alone for thumbv7em-none-eabihf,
# links it into the bare-metal example (opt-level "z", LTO; the core's `serde` feature reads
# `sub` and `scope` into heapless strings), reports its flash and checks the budget; then boots
# the image on qemu-system-arm's mps2-an386 board (a Cortex-M4 with FPU), its output through ARM
# semihosting, three times:
# - the 4096-bit token: the answer must be its exp, sub and scope, exit status 0; the heap of
#   one validation (the bump allocator's high-water mark) and the stack's high-water mark (the
#   reset code paints the stack, the image reads it back) are checked against their budgets;
# - the same token with one signature character changed: `invalid_signature`, exit status 1;
# - the token a day after its exp: `token_expired`, exit status 1.
# QEMU runs with `-icount shift=0` (one guest instruction = 1 ns of virtual time), so the board's
# 25 MHz timer, which the image reads around the validation, gives its instruction count to
# within 40. Installs what it needs (the rustup target, qemu-system-arm). Prints
# `baremetal: N passed, M failed`.
set -euo pipefail
cd "$(dirname "$0")/.."
target=thumbv7em-none-eabihf
max_flash=${MAX_FLASH:-40960} # 40 KB
max_heap=${MAX_HEAP:-4096}    # 4 KiB per validation
max_stack=${MAX_STACK:-8192}  # 8 KiB
run_timeout=${QEMU_TIMEOUT:-300}

if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$target"; then
  rustup target add "$target"
fi
if ! command -v qemu-system-arm >/dev/null; then
  apt-get update -qq
  # No recommends: the GUI, firmware and block-device extras are not needed for -kernel runs.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    qemu-system-arm >/dev/null
fi

passed=0
failed=0
check() { # check NAME CONDITION-STATUS: counts one check
  if [ "$2" -eq 0 ]; then
    passed=$((passed + 1))
  else
    echo "FAIL: $1" >&2
    failed=$((failed + 1))
  fi
}

# The core alone (no host crate unifies features into it), for a target without std.
cargo build --quiet --release -p cryptr-guard-core --target "$target"

cd examples/baremetal
cargo build --quiet --release --target "$target"
elf="target/$target/release/cryptr-guard-baremetal"
# Flash: everything the image stores there (the vector table, code, constants, .data's image).
read -r vectors text rodata data < <(size -A "$elf" | awk '
  $1==".vector_table"{v=$2} $1==".text"{t=$2} $1==".rodata"{r=$2} $1==".data"{d=$2}
  END{print v+0, t+0, r+0, d+0}')
flash=$((vectors + text + rodata + data))
echo "bare-metal image ($target, opt-level z, LTO): $flash bytes of flash" \
  "(.text $text + .rodata $rodata + vector table $vectors + .data $data; budget $max_flash;" \
  "~2.7 KB of it is the fixture's JWKS and token)"
check "flash $flash > $max_flash" $((flash > max_flash))

# run MODE: boots the image with MODE on its semihosting command line; sets `out` (the image's
# report, with anything QEMU said) and `status` (QEMU's exit status: the image's, 124 on timeout).
run() {
  local config=enable=on,target=native
  [ -z "$1" ] || config="$config,arg=$1"
  status=0
  out=$(timeout "$run_timeout" qemu-system-arm -machine mps2-an386 -nographic -monitor none \
    -serial none -icount shift=0 -semihosting-config "$config" -kernel "$elf" 2>&1) || status=$?
}
# field LINE-PREFIX KEY: the number after KEY= on the report's line that starts with LINE-PREFIX.
field() {
  sed -nE "s/^$1:.* $2=([0-9]+)( .*)?$/\\1/p" <<<"$out" | head -n 1
}

run ""
echo "$out" | sed 's/^/  qemu | /'
expected='result: validated exp=1700003600 sub="user-1" scope="openid email read:orders"'
ok=1
[ "$status" -eq 0 ] && grep -qxF "$expected" <<<"$out" && ok=0
check "the 4096-bit token: exit status $status, expected '$expected'" "$ok"
heap=$(field heap validation)
heap_peak=$(field heap validation_peak)
keys=$(field heap keys)
keys_live=$(field heap keys_live)
stack=$(field stack used)
stack_size=$(field stack size)
ticks_keys=$(field timer keys)
ticks=$(field timer validation)
if [ -n "$heap" ] && [ -n "$stack" ] && [ -n "$stack_size" ] && [ -n "$ticks" ]; then
  echo "heap of one validation: $heap bytes handed out by the bump allocator, at most" \
    "$heap_peak live at once (budget $max_heap); the key set (three keys, 2048 to 4096 bits):" \
    "$keys bytes handed out, $keys_live kept"
  echo "stack high-water mark: $stack of $stack_size bytes reserved (budget $max_stack)"
  echo "instructions (qemu -icount, ±40): validation $((ticks * 40)), key set parse" \
    "$((ticks_keys * 40))"
  check "heap of one validation $heap > $max_heap" $((heap > max_heap))
  # 0 would mean the paint was never laid, the reserved size that the stack ran off its region.
  check "stack high-water mark $stack not in 1..=$max_stack (of $stack_size)" \
    $((stack == 0 || stack >= stack_size || stack > max_stack))
else
  check "the report has no heap, stack or timer figures" 1
  check "no stack figure" 1
fi

run corrupt-signature
echo "$out" | sed 's/^/  qemu corrupt-signature | /' | head -n 1
ok=1
[ "$status" -eq 1 ] && grep -qxF 'result: error invalid_signature' <<<"$out" && ok=0
check "a corrupted signature: exit status $status, expected 'result: error invalid_signature'" "$ok"

run expired
echo "$out" | sed 's/^/  qemu expired | /' | head -n 1
ok=1
[ "$status" -eq 1 ] && grep -qxF 'result: error token_expired' <<<"$out" && ok=0
check "an expired token: exit status $status, expected 'result: error token_expired'" "$ok"

echo "baremetal: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
