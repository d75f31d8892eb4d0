# Shared by deploy/dev-run.sh and tests/run-all.sh: installs what the build needs when it is
# missing, saying what it installs. Debian/Ubuntu. APT_NO_RECOMMENDS=1 need_pkgs ... leaves out
# the packages' Recommends.

need_pkgs() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo ">> installing Debian packages: ${missing[*]}" >&2
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq ${APT_NO_RECOMMENDS:+--no-install-recommends} "${missing[@]}" >&2
    fi
}

need_rust() {
    if ! command -v cargo >/dev/null 2>&1; then
        echo ">> installing the Rust toolchain with rustup (https://rustup.rs)" >&2
        curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal >&2
        # shellcheck disable=SC1091
        . "$HOME/.cargo/env"
    fi
}

# Build dependencies: yang3's bundled libyang needs cmake and PCRE2.
need_build_deps() {
    need_pkgs cmake libpcre2-dev pkg-config
    need_rust
}

# need_cargo_tool CRATE VERSION: installs a cargo subcommand (e.g. cargo-deny) from crates.io,
# `--locked`, into ~/.cache/tether/cargo — outside the clone, so it is built once per machine,
# not per CI run — and puts it on PATH. Its build has a target dir of its own: the project's
# (CARGO_TARGET_DIR) stays the project's.
need_cargo_tool() {
    local crate=$1 version=$2
    local root=${TETHER_TOOLS:-$HOME/.cache/tether/cargo}
    export PATH="$root/bin:$PATH"
    if "$root/bin/$crate" --version 2>/dev/null | grep -qwF "$version"; then
        return 0
    fi
    echo ">> installing $crate $version into $root (cargo install --locked; once per machine)" >&2
    CARGO_TARGET_DIR="$HOME/.cache/tether/cargo-build" \
        cargo install --quiet --locked --root "$root" --version "$version" "$crate" >&2
}

# The stock Go clients the interop tests run (tests/interop/test_gnmi_cli.py,
# test_collector.py), pinned. Telegraf is built with only the plugins deploy/telegraf.conf
# uses (Telegraf's `custom` build tags; see docs/CUSTOMIZATION.md of Telegraf).
GNMI_CLI_PACKAGE=github.com/openconfig/gnmi/cmd/gnmi_cli@v0.14.1
TELEGRAF_PACKAGE=github.com/influxdata/telegraf/cmd/telegraf@v1.37.2
TELEGRAF_TAGS=custom,inputs.gnmi,outputs.prometheus_client,processors.enum,processors.converter

# need_go_tool NAME PACKAGE@VERSION [TAGS]: `go install`s a Go command into
# ~/.cache/tether/go/bin (GOPATH, module cache and build cache beside it: outside the clone,
# so a machine builds it once, not each CI run), unless the binary there already says (`go
# version -m`) it was built from that package at that version with those tags. Prints the
# binary's path on stdout. Needs the go command (Go 1.25.5 or newer for Telegraf v1.37.2).
need_go_tool() {
    local name=$1 package=${2%@*} version=${2##*@} tags=${3:-}
    local root=${TETHER_GO:-$HOME/.cache/tether/go}
    local bin=$root/bin/$name
    if ! command -v go >/dev/null 2>&1; then
        echo "!! the go command is missing: $name ($package@$version) is built with go install" >&2
        return 1
    fi
    if [ -x "$bin" ] && go version -m "$bin" 2>/dev/null | awk -v p="$package" -v v="$version" -v t="$tags" '
        $1 == "path" && $2 == p { path = 1 }
        $1 == "mod" && $3 == v { mod = 1 }
        $1 == "build" && $2 ~ /^-tags=/ { built = substr($2, 7) }
        END { exit !(path && mod && built == t) }'; then
        echo "$bin"
        return 0
    fi
    echo ">> installing $name $version into $root/bin (go install${tags:+ -tags $tags}; once per machine)" >&2
    local start=$SECONDS
    (
        cd "$root" || exit 1
        export GOPATH=$root/path GOMODCACHE=$root/mod GOCACHE=$root/build GOBIN=$root/bin
        export GOFLAGS=-modcacherw GOTOOLCHAIN=${GOTOOLCHAIN:-local}
        go install ${tags:+-tags "$tags"} "$package@$version"
    ) >&2 || return 1
    echo ">> $name $version built in $((SECONDS - start)) s" >&2
    echo "$bin"
}
