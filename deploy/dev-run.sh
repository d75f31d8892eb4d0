#!/usr/bin/env bash
# Builds and runs tetherd on embedded defaults: data in ./tether-data, the in-process
# (simulated) dataplane, plaintext gNMI on 127.0.0.1:57400 (loopback only).
# Extra arguments go to tetherd (e.g. --log-format json).
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
need_build_deps
cargo build --release -p tetherd -p tetherctl >&2
exec "${CARGO_TARGET_DIR:-target}/release/tetherd" "$@"
