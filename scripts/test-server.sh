#!/usr/bin/env bash
# Server tests: cargo tests of cryptr-guard-server (oneshot, real sockets, the built binary's
# check and demo), the HTTP conformance runner compared with the vectors' expectations, and a
# `check` smoke run on a vector. Idempotent; needs cargo and a C compiler (rustls' aws-lc-rs).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
target="${CARGO_TARGET_DIR:-$PWD/target}"

if ! command -v cc >/dev/null || ! command -v curl >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq build-essential curl
fi

echo "--- cargo test -p cryptr-guard-server"
cargo test -p cryptr-guard-server

echo "--- HTTP conformance (tests/conformance/run http tests/vectors)"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
tests/conformance/run http tests/vectors >"$out/http.jsonl"
cargo run --quiet --release -p cryptr-guard-conformance --bin cryptr-guard-compare -- \
  --vectors tests/vectors -- "http=$out/http.jsonl"

echo "--- check smoke run (examples/valid-2048 and examples/expired-hour-ago)"
cargo build --quiet -p cryptr-guard-server --bin cryptr-guard
bin="$target/debug/cryptr-guard"
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
group = json.load(open("tests/vectors/examples.json"))
open(f"{out}/jwks.json", "w").write(json.dumps(group["jwks"]))
for case in group["cases"]:
    if case["name"] in ("examples/valid-2048", "examples/expired-hour-ago"):
        o = case["options"]
        open(f"{out}/{case['name'].split('/')[1]}.args", "w").write("\n".join([
            case["token"], "--issuer", o["issuer"] if isinstance(o["issuer"], str) else o["issuer"][0],
            "--audience", o["audiences"][0], "--now", str(case["now"]), "--jwks", f"{out}/jwks.json"]))
PY
mapfile -t valid <"$out/valid-2048.args"
"$bin" check "${valid[@]}" >"$out/claims.json"
grep -q '"iss"' "$out/claims.json"
echo "check valid-2048: exit 0, claims printed"
if [ -f "$out/expired-hour-ago.args" ]; then
  mapfile -t expired <"$out/expired-hour-ago.args"
  set +e
  "$bin" check "${expired[@]}" 2>"$out/err.txt"
  code=$?
  set -e
  [ "$code" -eq 1 ] && grep -q '^token_expired: ' "$out/err.txt" || { echo "check expired: exit $code, $(cat "$out/err.txt")"; exit 1; }
  echo "check expired: exit 1, $(cat "$out/err.txt")"
fi
echo "server: all steps passed"
