#!/usr/bin/env bash
# Builds the Python distribution into dist/ (git-ignored): the abi3 wheel of this platform (one
# wheel for every CPython >= 3.9) and the sdist. Run from anywhere; uses the repository's .venv
# (created with maturin if missing).
#
# The wheel's manylinux tag is the one its binary really needs: maturin audits the glibc symbol
# versions it links and tags it so (manylinux_2_34 when built on glibc 2.34 or later; pip
# installs it on any Linux with that glibc or newer, with no compiler and no network). With
# --manylinux2014 it is linked against glibc 2.17 through zig (ziglang from PyPI, into .venv), for
# the oldest distributions still supported; releases build in maturin-action's manylinux
# containers instead (.github/workflows/wheels.yml).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export VIRTUAL_ENV="$root/.venv"
export PYO3_PYTHON="$root/.venv/bin/python"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check "maturin>=1.9.4,<2"
mkdir -p dist
rm -f dist/cryptr_guard-*
build=(--release -m python/Cargo.toml -o dist --auditwheel check)
if [ "${1:-}" = "--manylinux2014" ]; then
  .venv/bin/pip install -q --disable-pip-version-check "ziglang<0.14"
  build+=(--zig --compatibility manylinux2014)
  export PATH="$root/.venv/bin:$PATH"   # maturin finds zig through `python -m ziglang`
fi
echo "== wheels: the abi3 wheel"
.venv/bin/maturin build -q "${build[@]}"
echo "== wheels: the sdist"
.venv/bin/maturin sdist -m python/Cargo.toml -o dist
ls -l dist
