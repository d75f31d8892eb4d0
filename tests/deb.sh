#!/usr/bin/env bash
# The Debian package, built and installed for real, from the repository root:
#
#   bash tests/deb.sh
#
# Packages the debug binaries `cargo build -p tetherd -p tetherctl` already built
# (deploy/build-deb.sh --debug: no release build in CI), then, as root on this machine:
# `dpkg -i` (installs nftables, conntrack and iproute2 first: the package depends on them),
# checks every file is where the package says, runs `tetherd --version`, `tetherctl --help`,
# the man pages through man(1) and the bash completion, `systemd-analyze verify` of the
# installed unit (with its man page check), starts the installed tetherd with the installed
# /etc/tether/tetherd.toml as the unit's ExecStart does (data dir and port made temporary)
# and reads it back with the installed tetherctl, then `dpkg -r` and `dpkg --purge` and
# checks nothing is left. Not root: says so and exits 0 without installing.
# Ends with "deb: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh

PASS=0
FAIL=0
ok() { echo "ok    $*"; PASS=$((PASS + 1)); }
bad() { echo "FAIL  $*"; FAIL=$((FAIL + 1)); }
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}

TARGET=${CARGO_TARGET_DIR:-$PWD/target}
if [ ! -x "$TARGET/debug/tetherd" ] || [ ! -x "$TARGET/debug/tetherctl" ]; then
    cargo build -q -p tetherd -p tetherctl || exit 1
fi
start=$(date +%s)
deb=$(deploy/build-deb.sh --debug) || { echo "FAIL  deploy/build-deb.sh --debug"; exit 1; }
ok "built $(basename "$deb") ($(du -h "$deb" | cut -f1)) in $(($(date +%s) - start)) s"
if [ "$(id -u)" -ne 0 ]; then
    echo "note  not root: the package was built but NOT installed"
    echo "deb: $PASS passed, $FAIL failed"
    exit 0
fi
if dpkg-query -W -f='${Status}' tether 2>/dev/null | grep -q "install ok installed"; then
    echo "FAIL  a tether package is already installed on this machine: not touching it"
    exit 1
fi
need_pkgs nftables conntrack iproute2 man-db bash-completion

TMP=$(mktemp -d "${TMPDIR:-/tmp}/tether-deb.XXXXXX")
PID=
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    dpkg --purge tether >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT

dpkg_q() { # dpkg quietly; its output shown when it fails
    "$@" >"$TMP/dpkg.log" 2>&1 || { sed 's/^/      | /' "$TMP/dpkg.log"; return 1; }
}
check "dpkg -i $(basename "$deb")" dpkg_q dpkg -i "$deb"
files=(/usr/bin/tetherd /usr/bin/tetherctl /lib/systemd/system/tetherd.service
    /etc/tether/tetherd.toml /usr/share/doc/tether/examples/users.example.toml
    /usr/share/doc/tether/user-guide.md /usr/share/doc/tether/copyright
    /usr/share/man/man8/tetherd.8.gz /usr/share/man/man1/tetherctl.1.gz
    /usr/share/bash-completion/completions/tetherd /usr/share/bash-completion/completions/tetherctl
    /usr/share/zsh/vendor-completions/_tetherd /usr/share/zsh/vendor-completions/_tetherctl
    /usr/share/fish/vendor_completions.d/tetherd.fish /usr/share/fish/vendor_completions.d/tetherctl.fish)
missing=()
for f in "${files[@]}"; do [ -f "$f" ] || missing+=("$f"); done
check "every packaged file is installed (${#files[@]} files) ${missing[*]}" test ${#missing[@]} -eq 0
check "/etc/tether/tetherd.toml is a conffile" grep -qx /etc/tether/tetherd.toml /var/lib/dpkg/info/tether.conffiles
check "the package depends on nftables, conntrack, iproute2" \
    sh -c "dpkg-query -W -f='\${Depends}' tether | grep -q nftables && dpkg-query -W -f='\${Depends}' tether | grep -q conntrack && dpkg-query -W -f='\${Depends}' tether | grep -q iproute2"
v=$(/usr/bin/tetherd --version)
check "tetherd --version: $v" grep -q "^tetherd [0-9]" <<<"$v"
check "tetherctl --help" sh -c '/usr/bin/tetherctl --help | grep -q "show link-state"'
check "man 8 tetherd renders (NAME, --config, check)" \
    sh -c 'MANWIDTH=100 man 8 tetherd 2>/dev/null | grep -q -- "--config" && MANWIDTH=100 man 8 tetherd 2>/dev/null | grep -q "Tether daemon"'
check "man tetherctl renders (import, show)" \
    sh -c 'MANWIDTH=100 man 1 tetherctl 2>/dev/null | grep -q import'
check "bash completion completes 'tetherctl sh' to show" \
    bash -c '. /usr/share/bash-completion/completions/tetherctl && COMP_WORDS=(tetherctl sh) COMP_CWORD=1 && _tetherctl tetherctl sh tetherctl && printf "%s\n" "${COMPREPLY[@]}" | grep -qx show'
out=$(systemd-analyze verify /lib/systemd/system/tetherd.service 2>&1)
check "systemd-analyze verify of the installed unit (ExecStart /usr/bin/tetherd, man:tetherd(8)): ${out:-clean}" test -z "$out"

# The installed daemon with the installed config, as the unit starts it.
exec_start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/tetherd.service)
read -r -a cmd <<<"$exec_start"
: >"$TMP/log"
"${cmd[@]}" --data-dir "$TMP/data" --listen 127.0.0.1:0 --netconf-listen 127.0.0.1:0 >"$TMP/log" 2>&1 &
PID=$!
addr=
for _ in $(seq 1 100); do
    addr=$(sed -n 's/.*listening on \([0-9.:]*\).*/\1/p' "$TMP/log" | head -n1)
    [ -n "$addr" ] && break
    sleep 0.1
done
check "the unit's ExecStart ($exec_start) reaches 'listening on'" test -n "$addr"
if [ -n "$addr" ]; then
    check "the installed tetherctl sets and reads back through the installed tetherd" sh -c "
        /usr/bin/tetherctl --target $addr set --update '/link-state/groups/group[id=1]/config={\"id\": 1, \"description\": \"from the deb\"}' >/dev/null &&
        /usr/bin/tetherctl --target $addr get '/link-state/groups/group[id=1]/config/description' | grep -q 'from the deb'"
    kill -TERM "$PID"
    wait "$PID"
    check "SIGTERM: the installed tetherd exits 0" test $? -eq 0
    PID=
fi

check "dpkg -r tether" dpkg_q dpkg -r tether
left=()
for f in "${files[@]}"; do [ "$f" = /etc/tether/tetherd.toml ] || [ ! -e "$f" ] || left+=("$f"); done
check "dpkg -r removes every file but the conffile ${left[*]}" test ${#left[@]} -eq 0
check "dpkg -r keeps the conffile /etc/tether/tetherd.toml" test -f /etc/tether/tetherd.toml
check "dpkg --purge tether" dpkg_q dpkg --purge tether
check "purge removes /etc/tether/tetherd.toml" test ! -e /etc/tether/tetherd.toml

echo
echo "deb: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
