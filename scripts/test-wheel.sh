#!/usr/bin/env bash
# The wheel as a user gets it: builds it (scripts/build-wheels.sh), then, with no Rust toolchain
# on PATH (cargo and rustc must not be found), installs it into a fresh virtualenv (the wheel
# itself with --no-index: nothing is built or downloaded for it; the frameworks from the extras)
# and runs python/README's quickstart (scripts/wheel-examples.py): `cryptr-guard demo` as the
# issuer of two organizations, the Flask (flask run and gunicorn), FastAPI and Django examples and
# `cryptr-guard serve` configured from the line it prints, each answering its tokens alike, and
# the Flask example against examples/local_issuer.py. The server binary is built before Rust
# leaves PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scripts/build-wheels.sh "$@"   # --manylinux2014: the zig-linked wheel
wheel=$(ls dist/cryptr_guard-*-abi3-*.whl)
sdist=$(ls dist/cryptr_guard-*.tar.gz)
echo "== wheel: $wheel (sdist $sdist)"
echo "== wheel: the server binary (cryptr-guard demo, cryptr-guard serve)"
# The debug build that `cargo test` already made (its RSA crates are optimised even there): a
# release build would add over a minute to the test command for the same answers.
cargo build -q -p cryptr-guard-server --bin cryptr-guard
server="${CARGO_TARGET_DIR:-$root/target}/debug/cryptr-guard"
python=$(command -v python3)

# No Rust toolchain from here on: PATH without ~/.cargo/bin (and rustup's variables unset).
clean_path=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v -e '\.cargo/bin' -e '\.rustup' | paste -sd: -)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
env -u CARGO_HOME -u RUSTUP_HOME -u RUSTUP_TOOLCHAIN -u VIRTUAL_ENV -u PYO3_PYTHON -u PYTHONPATH \
  PATH="$clean_path" WHEEL="$root/$wheel" ROOT="$root" PYTHON="$python" VENV="$tmp/venv" SERVER="$server" bash -euo pipefail -c '
  if command -v cargo >/dev/null 2>&1 || command -v rustc >/dev/null 2>&1; then
    echo "a Rust toolchain is still on PATH: $(command -v cargo rustc)" >&2
    exit 1
  fi
  echo "== wheel: cargo and rustc not on PATH"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-index --no-deps "$WHEEL"
  "$VENV/bin/pip" install -q --disable-pip-version-check "$WHEEL[flask,fastapi,django]" gunicorn "pyjwt>=2.8" "cryptography>=42"
  cd "$VENV"   # away from the source tree: the installed package is the one imported
  "$VENV/bin/python" -c "import cryptr_guard, sys; f = cryptr_guard._native.__file__; assert f.startswith(sys.prefix), f; print(\"imported\", f)"
  "$VENV/bin/python" "$ROOT/scripts/wheel-examples.py" --server "$SERVER"   # wheel: N passed, 0 failed
'
