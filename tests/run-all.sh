#!/usr/bin/env bash
# Runs every test of Tether: formatting, lints, the Rust unit and integration tests
# (including the SIGKILL durability test), and the Python interop tests against a real
# tetherd with stock gNMI clients (pygnmi, grpcio in a venv it creates under .venv; gnmi_cli and
# Telegraf built with go install; Prometheus from Debian).
# Installs what is missing first (cmake, libpcre2-dev, nftables, conntrack, python3-venv).
set -euo pipefail
cd "$(dirname "$0")/.."
# A whole run builds each crate once: incremental state would only cost disk (tens of GB on a
# clean clone) and time. Set CARGO_INCREMENTAL=1 to keep it.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
. tests/lib.sh
need_build_deps
need_pkgs nftables conntrack iproute2 python3-venv python3-pip systemd openssl

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== supply chain: cargo deny (licences, bans, sources; advisories where the database is reachable)"
bash tests/supply_chain.sh
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test"
cargo test --workspace --no-fail-fast
echo "== benchmark smoke: the datastore bench in quick mode (prints numbers, asserts nothing; catches a bench that no longer runs)"
TETHER_BENCH_QUICK=1 cargo test -p tether-store --benches
echo "== benchmark smoke: the NETCONF-vs-gNMI bench in quick mode against a debug tetherd (seconds)"
TETHER_BENCH_QUICK=1 cargo test -p tetherd --bench netconf
echo "== deploy files (systemd unit, example config, collector configs)"
bash tests/deploy_files.sh

echo "== Python venv for the interop tests and YANG lint (.venv)"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r tests/interop/requirements.txt

echo "== YANG lint (pyang --lint must print nothing)"
lint=$(.venv/bin/pyang --lint --path yang yang/*.yang 2>&1 || true)
if [ -n "$lint" ]; then
    echo "$lint"
    exit 1
fi

echo "== stock Go clients for the interop tests: gnmi_cli and Telegraf (go install, cached in ~/.cache/tether/go), Prometheus (Debian)"
go_tools=$(bash tests/go_tools.sh)
eval "$go_tools"
export GNMI_CLI TELEGRAF PROMETHEUS

echo "== interop: pygnmi, grpcio, oc-config-validate, gnmi_cli, the Telegraf → Prometheus pipeline against a real tetherd"
cargo build -p tetherd -p tetherctl
TETHERD="${CARGO_TARGET_DIR:-$PWD/target}/debug/tetherd" TETHERCTL="${CARGO_TARGET_DIR:-$PWD/target}/debug/tetherctl" .venv/bin/pytest -q tests/interop

echo "== Debian package: the debug binaries just built, packaged with cargo-deb, installed with dpkg and removed"
bash tests/deb.sh

echo "== netns: tetherd --dataplane linux in network namespaces (root; skipped otherwise)"
TETHERD="${CARGO_TARGET_DIR:-$PWD/target}/debug/tetherd" .venv/bin/pytest -q tests/netns
echo "== all tests passed"
