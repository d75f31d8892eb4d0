#!/usr/bin/env python3
"""Conditional bypass on the Linux dataplane (issue 20, "Benchmarks"): the time from a trigger
interface's carrier loss to the class's bypass armed in the kernel, and from its carrier back to
disarmed after the hold time, over N runs (p50/p99).

    cargo build --release -p tetherd
    sudo .venv/bin/python tests/bench/arming.py            # uses target/release/tetherd
    TETHERD=path/to/tetherd .venv/bin/python tests/bench/arming.py [-n 10] [--hold 1]

Root only. Topology (namespaces `tn<pid>..`, made and removed with the helpers of
tests/netns/conftest.py): fw (tetherd --dataplane linux) with `trk0`, whose peer `trk1` lives in
`peer`; the benchmark cuts and restores `trk1`. "Armed" is seen by polling the class's gate
chain with `nft -j list chain` (each poll costs a few ms: that is the resolution). Prints a
markdown table and asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
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


def config(hold: int) -> dict:
    entry = {"sequence": 10, "config": {"sequence": 10, "action": "permit", "protocol": "tcp",
                                        "source-prefix": "198.18.0.0/16", "destination-prefix": "198.19.0.0/16"}}
    return {
        "access-lists": {"access-list": [{"name": "A", "config": {"name": "A"}, "entries": {"entry": [entry]}}]},
        "classes": {"class": [{"name": "c", "config": {"name": "c", "match-access-list": "A"}}]},
        "policies": {"policy": [{"name": "p", "config": {"name": "p"}, "classes": {"class": [{"name": "c", "config": {
            "name": "c", "tcp-state-bypass": True, "trigger-interface": "trk0", "trigger-hold-time": hold}}]}}]},
        "global-policy": {"config": {"policy": "p"}},
    }


def gate(fw) -> str | None:
    table = subprocess.run(fw.cmd("nft", "list", "table", "inet", "tether"), capture_output=True, text=True).stdout
    for line in table.splitlines():
        line = line.strip()
        if line.startswith("chain g_"):
            return line.split()[1]
    return None


def armed(fw, chain: str) -> bool:
    r = subprocess.run(fw.cmd("nft", "list", "chain", "inet", "tether", chain), capture_output=True, text=True)
    return "ct timeout set" in r.stdout


def pct(v: list[float], p: float) -> float:
    s = sorted(v)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--runs", type=int, default=10)
    ap.add_argument("--hold", type=int, default=1, help="trigger-hold-time in seconds (default 1)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root", file=sys.stderr)
        return 2
    binary = Path(os.environ["TETHERD"])
    if not binary.is_file():
        print(f"{binary} not found: cargo build --release -p tetherd", file=sys.stderr)
        return 2

    def on_term(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    tmp = Path(tempfile.mkdtemp(prefix="tether-arming-bench-"))
    lab = nt.Lab(tmp)
    arm_ms: list[float] = []
    disarm_ms: list[float] = []
    try:
        (tmp / "stubs").mkdir()
        stubs = nt.gnmi_stubs.generate(tmp / "stubs")
        fw, peer = lab.netns("fw"), lab.netns("peer")
        lab.fw = fw
        lab.veth(fw, "trk0", peer, "trk1")
        lab.management(fw)
        d = lab.start_tetherd(fw)
        g = nt.Gnmi(stubs, d.addr)
        g.update((BYPASS, config(args.hold)))
        chain = nt.wait_for(lambda: gate(fw), 10, 0.05, "gate chain installed")
        nt.wait_for(lambda: not armed(fw, chain), 10, 0.05, "disarmed with trk0 up")
        for _ in range(args.runs):
            t0 = time.monotonic()
            peer.run("ip link set trk1 down")
            nt.wait_for(lambda: armed(fw, chain), 5, 0.001, "armed")
            arm_ms.append((time.monotonic() - t0) * 1000)
            time.sleep(0.2)
            t1 = time.monotonic()
            peer.run("ip link set trk1 up")
            nt.wait_for(lambda: not armed(fw, chain), args.hold + 5, 0.001, "disarmed")
            disarm_ms.append((time.monotonic() - t1) * 1000 - args.hold * 1000)
            time.sleep(0.2)
        g.close()
    finally:
        lab.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"\n## Conditional bypass arming on Linux ({args.runs} runs, hold {args.hold} s, {binary.name})\n")
    print("| | p50 | p99 | max |")
    print("|---|---:|---:|---:|")
    print(f"| carrier loss -> armed in nft | {statistics.median(arm_ms):.1f} ms | {pct(arm_ms, 99):.1f} ms | {max(arm_ms):.1f} ms |")
    print(f"| carrier back -> disarmed, beyond the hold | {statistics.median(disarm_ms):.1f} ms | "
          f"{pct(disarm_ms, 99):.1f} ms | {max(disarm_ms):.1f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
