#!/usr/bin/env bash
# Installs the stock Go clients of the interop tests (gnmi_cli, Telegraf) and the Prometheus
# server (Debian package) when missing, and prints the variables the tests read:
#
#   eval "$(bash tests/go_tools.sh)"      # then: .venv/bin/pytest tests/interop/test_gnmi_cli.py
#
# tests/run-all.sh runs it before the interop tests. The Go builds are cached in
# ~/.cache/tether/go (see need_go_tool in tests/lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
mkdir -p "${TETHER_GO:-$HOME/.cache/tether/go}"
# The Prometheus server only: its Recommends (prometheus-node-exporter and its timers) are not
# needed to scrape Telegraf.
APT_NO_RECOMMENDS=1 need_pkgs prometheus
gnmi_cli=$(need_go_tool gnmi_cli "$GNMI_CLI_PACKAGE")
telegraf=$(need_go_tool telegraf "$TELEGRAF_PACKAGE" "$TELEGRAF_TAGS")
echo "export GNMI_CLI=$gnmi_cli TELEGRAF=$telegraf PROMETHEUS=$(command -v prometheus)"
