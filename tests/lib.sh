# Shared by deploy/dev-run.sh and tests/run-all.sh: installs what the build needs when it is
# missing, saying what it installs. Debian/Ubuntu.

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
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
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
