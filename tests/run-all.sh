#!/usr/bin/env bash
# Runs every test of Tether: formatting, lints, the Rust unit and integration tests
# (including the SIGKILL durability test), and the Python interop tests against a real
# tetherd with stock gNMI clients (pygnmi, grpcio) in a venv it creates under .venv.
# Installs what is missing first (cmake, libpcre2-dev, nftables, conntrack, python3-venv).
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
need_build_deps
need_pkgs nftables conntrack iproute2 python3-venv python3-pip

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test"
cargo test --workspace --no-fail-fast

if [ -d tests/interop ] && ls tests/interop/test_*.py >/dev/null 2>&1; then
    echo "== interop (pygnmi, grpcio)"
    if [ ! -x .venv/bin/pytest ]; then
        python3 -m venv .venv
        .venv/bin/pip install -q -r tests/interop/requirements.txt
    fi
    cargo build -p tetherd
    TETHERD="$PWD/target/debug/tetherd" .venv/bin/pytest -q tests/interop
fi
echo "== all tests passed"
