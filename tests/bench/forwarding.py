#!/usr/bin/env python3
"""Forwarding throughput through the firewall namespace, 10,000 access-list entries vs none
(issue 5, "Benchmark"; target: (b)/(a) >= 90 %).

    cargo build --release -p tetherd
    sudo .venv/bin/python tests/bench/forwarding.py            # uses target/release/tetherd
    TETHERD=path/to/tetherd .venv/bin/python tests/bench/forwarding.py [-t 5]

Root only. Topology (all addresses in 198.18.0.0/15, namespaces `tn<pid>..`, made and removed
by this script with the helpers of tests/netns/conftest.py):

    client ns  c0 198.18.1.1/30 ── f0 198.18.1.2/30  fw ns (tetherd --dataplane linux)
               f1 198.19.1.1/30 ── s0 198.19.1.2/30  server ns (iperf3 -s)
    + mgmt0 in fw ── host veth (198.19.255.x/30), where tetherd serves gNMI

iperf3 TCP client -> server through fw, 1 and 4 streams:
  (a)  tetherd running, no bypass configuration (the default stateful policy only);
  (b)  one gNMI Set: access-list of 10,000 entries (the iperf flow matches only the LAST two),
       class (tcp-state-bypass), policy, service-policy on f0 (fw's ingress from the client) and on
       f1 (the return direction; f0 alone breaks TCP, see bypass_config);
  (a') the configuration deleted again (a control for machine noise).
Prints a markdown table. Every wait is bounded; cleanup always runs (also on SIGTERM / Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(REPO / "tests" / "netns"))
os.environ.setdefault("TETHERD", str(REPO / "target" / "release" / "tetherd"))

import conftest as nt  # noqa: E402  (the netns test helpers: Lab, Gnmi, wait_for, ...)

BYPASS = "/tether-conntrack-bypass:bypass"
CLIENT, SERVER = "198.18.1.1", "198.19.1.2"
PORT = 5201
N_ENTRIES = 10_000


def bypass_config(n: int) -> dict:
    """n permit entries; entries 1..n-2 never match the iperf flow (other /32 sources in
    198.18.100.0 - 198.18.139.255, other ports), entry n-1 is CLIENT/32 -> 198.19.0.0/16 port PORT
    and entry n its return direction. Bypass must cover both directions (as in the reference
    scenario): with the service-policy on f0 alone the SYN is bypassed, the SYN-ACK is not, and the
    stateful forward chain drops it (iperf3 cannot connect)."""
    entries = []
    for i in range(n - 2):
        src = f"198.18.{100 + i // 250}.{i % 250 + 1}/32"
        seq = i + 1
        entries.append({"sequence": seq, "config": {
            "sequence": seq, "action": "permit", "protocol": "tcp", "source-prefix": src,
            "destination-prefix": "198.19.0.0/16", "destination-port": str(10000 + i)}})
    entries.append({"sequence": n, "config": {
        "sequence": n, "action": "permit", "protocol": "tcp", "source-prefix": f"{CLIENT}/32",
        "destination-prefix": "198.19.0.0/16", "destination-port": str(PORT)}})
    entries[-1]["sequence"] = entries[-1]["config"]["sequence"] = n - 1
    entries.append({"sequence": n, "config": {
        "sequence": n, "action": "permit", "protocol": "tcp", "source-prefix": "198.19.0.0/16",
        "destination-prefix": f"{CLIENT}/32", "source-port": str(PORT)}})
    return {
        "access-lists": {"access-list": [{
            "name": "Bench", "config": {"name": "Bench"}, "entries": {"entry": entries}}]},
        "classes": {"class": [{"name": "bench", "config": {"name": "bench", "match-access-list": "Bench"}}]},
        "policies": {"policy": [{
            "name": "bench-policy", "config": {"name": "bench-policy"},
            "classes": {"class": [{"name": "bench", "config": {
                "name": "bench", "tcp-state-bypass": True, "idle-timeout": 900}}]},
        }]},
        "service-policies": {"service-policy": [
            {"interface": i, "config": {"interface": i, "policy": "bench-policy"}} for i in ("f0", "f1")]},
    }


def nft_table(fw) -> str:
    r = subprocess.run(fw.cmd("nft", "list", "table", "inet", "tether"), capture_output=True, text=True, timeout=30)
    return r.stdout if r.returncode == 0 else ""


def iperf(lab, client, seconds: int, streams: int) -> float:
    """Gbit/s received by the server."""
    r = subprocess.run(
        client.cmd("iperf3", "-c", SERVER, "-B", CLIENT, "-p", str(PORT), "-t", str(seconds),
                   "-P", str(streams), "-J", "--connect-timeout", "3000"),
        capture_output=True, text=True, timeout=seconds + 20)
    out = json.loads(r.stdout or "{}")
    if r.returncode != 0 or "error" in out:
        raise RuntimeError(f"iperf3 failed ({r.returncode}): {out.get('error') or r.stderr}")
    return out["end"]["sum_received"]["bits_per_second"] / 1e9


def last_entry_matches(g) -> int | None:
    try:
        v = g.get(f"{BYPASS}/access-lists/access-list[name=Bench]/entries/entry[sequence={N_ENTRIES - 1}]/state/matches",
                  "STATE")
        return int(v) if v not in (None, [], "") else 0
    except Exception:  # noqa: BLE001
        return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-t", "--seconds", type=int, default=5, help="iperf3 duration per run (default 5)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root", file=sys.stderr)
        return 2
    for tool in ("ip", "nft", "iperf3"):
        if shutil.which(tool) is None:
            print(f"`{tool}` not found (apt-get install -y iperf3)", file=sys.stderr)
            return 2
    binary = Path(os.environ["TETHERD"])
    if not binary.is_file():
        print(f"{binary} not found: cargo build --release -p tetherd", file=sys.stderr)
        return 2

    def on_term(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    tmp = Path(tempfile.mkdtemp(prefix="tether-fwd-bench-"))
    lab = nt.Lab(tmp)
    results: dict[tuple[str, int], float] = {}
    notes: list[str] = []
    t_start = time.monotonic()
    try:
        (tmp / "stubs").mkdir()
        stubs = nt.gnmi_stubs.generate(tmp / "stubs")
        client, fw, server = lab.netns("client"), lab.netns("fw"), lab.netns("server")
        lab.fw = fw
        lab.veth(client, "c0", fw, "f0")
        lab.veth(fw, "f1", server, "s0")
        client.run(f"ip addr add {CLIENT}/30 dev c0 && ip route add default via 198.18.1.2")
        server.run(f"ip addr add {SERVER}/30 dev s0 && ip route add default via 198.19.1.1")
        fw.run("ip addr add 198.18.1.2/30 dev f0 && ip addr add 198.19.1.1/30 dev f1 && "
               "sysctl -qw net.ipv4.ip_forward=1")
        lab.management(fw)
        d = lab.start_tetherd(fw)
        g = nt.Gnmi(stubs, d.addr)
        nt.wait_for(lambda: "hook forward" in nft_table(fw), 10, 0.05, "inet tether installed at boot")
        lab.spawn(server, ["iperf3", "-s", "-B", SERVER, "-p", str(PORT)],
                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        nt.wait_for(lambda: f":{PORT}" in server.run("ss -ltn", check=False), 5, 0.05, "iperf3 server listening")

        def runs(label: str):
            for streams in (1, 4):
                results[(label, streams)] = iperf(lab, client, args.seconds, streams)

        runs("a")

        cfg = bypass_config(N_ENTRIES)
        t0 = time.monotonic()
        g.update((BYPASS, cfg))
        set_s = time.monotonic() - t0
        nt.wait_for(lambda: "ct timeout" in nft_table(fw) or "notrack" in nft_table(fw), 20, 0.05,
                    "bypass program with 10,000 entries installed")
        installed_s = time.monotonic() - t0
        table = nft_table(fw)
        notes.append(f"gNMI Set of {N_ENTRIES} entries: {set_s * 1000:.0f} ms; "
                     f"program visible in nft: {installed_s * 1000:.0f} ms after the Set; "
                     f"`nft list table inet tether`: {len(table.splitlines())} lines, "
                     f"{'present' if str(PORT) in table else 'ABSENT'} port {PORT}")
        m0 = last_entry_matches(g)
        runs("b")
        m1 = last_entry_matches(g)
        notes.append(f"matches of entry {N_ENTRIES - 1} (the iperf flow's, client->server) in gNMI state: {m0} -> {m1}")

        g.delete(BYPASS)
        nt.wait_for(lambda: "ct timeout" not in nft_table(fw), 20, 0.05, "bypass program removed")
        runs("a2")
        g.close()
        if not d.alive():
            notes.append("tetherd DIED during the benchmark")
    finally:
        lab.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
        left = [ns.name for ns in lab.namespaces if ns.name in nt.sh(["ip", "netns", "list"], check=False).split()]
        if left:
            print(f"WARNING: namespaces left behind: {left}", file=sys.stderr)

    print(f"\n## Forwarding through the firewall namespace (iperf3 TCP, {args.seconds} s per run)\n")
    print(f"{platform.node()} · {platform.release()} · {os.cpu_count()} CPUs · {binary}\n")
    print("| streams | (a) no bypass config | (b) 10,000 entries, flow matches the last 2 | (b)/(a) | (a') config deleted |")
    print("|---:|---:|---:|---:|---:|")
    for streams in (1, 4):
        a, b, a2 = results[("a", streams)], results[("b", streams)], results[("a2", streams)]
        print(f"| {streams} | {a:.2f} Gbit/s | {b:.2f} Gbit/s | {b / a * 100:.0f} % | {a2:.2f} Gbit/s |")
    print()
    for n in notes:
        print(f"- {n}")
    print(f"- total time {time.monotonic() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
