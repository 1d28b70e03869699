#!/usr/bin/env bash
# Regenerates include/cryptr_guard.h with the pinned cbindgen (the dev-dependency in
# ffi/Cargo.toml) from ffi/cbindgen.toml; commit the result. build.rs never writes the header.
set -euo pipefail
cd "$(dirname "$0")/.."
CG_BLESS=1 cargo test --quiet -p cryptr-guard-ffi --test header -- committed_header_is_up_to_date >&2
echo "include/cryptr_guard.h regenerated" >&2
