#!/usr/bin/env bash
# Throughput and p99 latency of `cryptr-guard serve` on the protected route (GET /api/v1/courses)
# with wrk, 4096-bit RSA key, verified-token cache on and off (and verification on the blocking
# pool), plus the tutorial Flask app (python-jose) and the Flask app on cryptr_guard when present
# (gunicorn, 2 sync workers). Not a test.
#
#   bench/server_wrk.sh [ROUNDS] [SECONDS]      (defaults: 3 rounds of 10 s per candidate)
#
# The issuer is `cryptr-guard demo` (fresh 4096-bit key, JWKS over plain HTTP on loopback); its
# printed valid token is the one every candidate validates. Servers are pinned to CPU 0, wrk to
# CPU 1; candidates are interleaved round by round; the medians are reported. Every process of the
# benchmark runs at `nice -n $BENCH_NICE` (default -15, root only) so that other jobs sharing this
# machine disturb the measurement less; the load average is printed with the results.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
seconds=${2:-10}
connections=${CONNECTIONS:-16}
prio=(nice -n "${BENCH_NICE:--15}")
[ "$(id -u)" = 0 ] || prio=()
target="${CARGO_TARGET_DIR:-$PWD/target}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --quiet --release -p cryptr-guard-server --bin cryptr-guard
bin="$target/release/cryptr-guard"
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

wait_port() { # url
  for _ in $(seq 1 200); do
    curl -s -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "not answering: $1" >&2
  return 1
}

# The issuer.
RUST_LOG=warn "${prio[@]}" taskset -c 1 "$bin" demo --bind 127.0.0.1:7400 --bits 4096 >"$work/demo.txt" 2>/dev/null &
pids+=($!)
for _ in $(seq 1 600); do grep -q "Press Ctrl-C" "$work/demo.txt" 2>/dev/null && break; sleep 0.1; done
token=$(grep -m1 -o "Authorization: Bearer [^']*" "$work/demo.txt" | sed 's/Authorization: Bearer //')
# The demo prints its configuration (base URL, organizations, audience, client id) on one line.
# shellcheck disable=SC2046
export $(grep -m1 '^CRYPTR_BASE_URL=' "$work/demo.txt")

declare -A port url
add() { # name port path
  port[$1]=$2
  url[$1]="http://127.0.0.1:$2$3"
}
start_rust() { # name port extra-args...
  local name=$1 p=$2
  shift 2
  RUST_LOG=warn "${prio[@]}" taskset -c 0 "$bin" serve --allow-http --bind "127.0.0.1:$p" --workers 1 "$@" 2>/dev/null &
  pids+=($!)
  add "$name" "$p" /api/v1/courses
}
start_rust cache-on 7401 --token-cache 10000
start_rust cache-off 7402 --token-cache 0
start_rust cache-off-blocking 7403 --token-cache 0 --blocking-verify
candidates=(cache-on cache-off cache-off-blocking)

# Python candidates, when present (gunicorn, 2 sync workers, pinned to CPU 0): the tutorial app
# (python-jose, JWKS fetched on every request) and the same app on cryptr_guard.flask.
if [ -x .venv/bin/gunicorn ]; then
  if [ -f bench/tutorial/server.py ]; then
    # The tutorial serves one tenant: the demo's first organization (whose token is measured).
    (cd bench/tutorial && CRYPTR_TENANT_DOMAIN=${CRYPTR_TENANT_DOMAIN%%,*} exec "${prio[@]}" taskset -c 0 ../../.venv/bin/gunicorn -w 2 -k sync -b 127.0.0.1:7410 \
      --log-level warning server:app >"$work/tutorial.log" 2>&1) &
    pids+=($!)
    add tutorial-flask 7410 /api/v1/courses
    candidates+=(tutorial-flask)
  fi
  if [ -f python/examples/flask_app/server.py ] && .venv/bin/python -c "import cryptr_guard" 2>/dev/null; then
    for mode in on:10000 off:0; do
      name="flask-cryptr-guard-cache-${mode%%:*}"
      p=$((7411 + ${#candidates[@]}))
      (cd python/examples/flask_app && CRYPTR_ALLOW_HTTP=true CRYPTR_TOKEN_CACHE_SIZE=${mode##*:} \
        exec "${prio[@]}" taskset -c 0 ../../../.venv/bin/gunicorn -w 2 -k sync -b "127.0.0.1:$p" \
        --log-level warning server:app >"$work/$name.log" 2>&1) &
      pids+=($!)
      add "$name" "$p" /api/v1/courses
      candidates+=("$name")
    done
  fi
fi

for name in "${candidates[@]}"; do
  wait_port "http://127.0.0.1:${port[$name]}/" || true
  for _ in 1 2 3 4; do # warm up (both gunicorn workers fetch their keys)
    curl -s -o /dev/null -H "Authorization: Bearer $token" "${url[$name]}"
  done
  status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "${url[$name]}")
  [ "$status" = 200 ] || { echo "$name answers $status to the demo token" >&2; exit 1; }
done

# wrk output -> "rps p99_ms"
measure() { # name
  "${prio[@]}" taskset -c 1 wrk -t1 -c"$connections" -d"${seconds}s" --latency \
    -H "Authorization: Bearer $token" "${url[$1]}" >"$work/wrk.txt"
  python3 - "$work/wrk.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", text)
p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
if non2xx:
    print(f"non-2xx responses: {non2xx.group(1)}", file=sys.stderr)
    sys.exit(1)
print(f"{rps} {p99}")
PY
}

for round in $(seq 1 "$rounds"); do
  for name in "${candidates[@]}"; do
    result=$(measure "$name")
    echo "$name $result" >>"$work/results.txt"
    echo "round $round: $name $result (req/s, p99 ms)" >&2
  done
done

echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$work/results.txt" "$connections" "$seconds" "$rounds" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, rps, p99 = line.split()
    rows.setdefault(name, []).append((float(rps), float(p99)))
conns, secs, rounds = sys.argv[2:5]
base = rows.get("tutorial-flask")
base_rps = statistics.median(r for r, _ in base) if base else None
print(f"wrk -t1 -c{conns} -d{secs}s, {rounds} rounds interleaved, medians; server on CPU 0, wrk on CPU 1; 4096-bit RSA")
print()
print("| candidate | requests/s | p99 (ms) | vs tutorial |")
print("| --- | ---: | ---: | ---: |")
for name, values in rows.items():
    rps = statistics.median(r for r, _ in values)
    p99 = statistics.median(p for _, p in values)
    ratio = f"{rps / base_rps:.1f}x" if base_rps else "n/a"
    print(f"| {name} | {rps:,.0f} | {p99:.2f} | {ratio} |")
PY
