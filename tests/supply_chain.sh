#!/usr/bin/env bash
# Supply chain: `cargo deny` against deny.toml, from the repository root:
#
#   bash tests/supply_chain.sh
#
# - licenses: every dependency's licence is one deny.toml allows;
# - bans: no wildcard versions; crates present in two versions are reported (warnings);
# - sources: crates.io only, no git dependencies;
# - advisories: the RustSec database, which cargo-deny fetches with git. Where the database
#   cannot be fetched (a machine that reaches package registries only) and no copy of it was
#   fetched before, the advisories are NOT checked, and the script says so; the other three
#   checks need only Cargo.lock and the registry.
#
# Installs cargo-deny (pinned) into ~/.cache/tether/cargo once (tests/lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
need_cargo_tool cargo-deny 0.20.2

if out=$(cargo deny --locked check 2>&1); then
    printf '%s\n' "$out" | grep -E '^warning\[duplicate\]' || true
    printf '%s\n' "$out" | tail -n 1
    echo "supply chain: advisories, bans, licenses and sources checked"
    exit 0
fi
if ! grep -q 'failed to fetch advisory database' <<<"$out"; then
    printf '%s\n' "$out"
    exit 1
fi
db_dir=${CARGO_HOME:-$HOME/.cargo}/advisory-dbs
copy=$(ls -d "$db_dir"/advisory-db-*/crates 2>/dev/null | head -n 1 || true)
if [ -n "$copy" ]; then
    when=$(git -C "$copy/.." log -1 --format=%cs 2>/dev/null || echo "unknown date")
    echo "note: the advisory database cannot be fetched now: checking against the copy fetched before (newest advisory commit $when)"
    cargo deny --locked --offline check advisories
else
    echo "note: the advisory database cannot be fetched from this machine and no copy of it is in"
    echo "      $db_dir: advisories are NOT checked here; licenses, bans and sources are"
fi
cargo deny --locked check licenses bans sources 2>&1 | grep -E '^warning\[duplicate\]|^error|ok$|FAILED' 
exit "${PIPESTATUS[0]}"
