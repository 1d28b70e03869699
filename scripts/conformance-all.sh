#!/usr/bin/env bash
# One answer everywhere: runs every file in tests/vectors (or the given paths) through the four
# runners — core, C, Python, HTTP — and fails on any case whose outcome differs from the
# expectation or from another runner, naming the case and the runners that disagree.
#   scripts/conformance-all.sh [VECTOR_FILE_OR_DIR...]
set -euo pipefail
cd "$(dirname "$0")/.."
paths=("$@")
[ ${#paths[@]} -gt 0 ] || paths=(tests/vectors)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
outputs=()
for runner in core c python http; do
  echo "conformance: running the $runner runner" >&2
  tests/conformance/run "$runner" "${paths[@]}" >"$out/$runner.jsonl"
  echo "conformance: $runner reported $(wc -l <"$out/$runner.jsonl") outcomes" >&2
  outputs+=("$runner=$out/$runner.jsonl")
done
cargo run --quiet --release -p cryptr-guard-conformance --bin cryptr-guard-compare -- \
  --vectors "${paths[@]}" -- "${outputs[@]}"
