"""`tetherd --dataplane linux` inside a firewall namespace, configured and observed only through
gNMI Set/Get, checked against the kernel state of that namespace (issue 5, "Tests").

Run as root:  TETHERD=$PWD/target/debug/tetherd .venv/bin/pytest -q tests/netns
"""

from __future__ import annotations

import subprocess
import threading
import time

import pytest

from conftest import link_is_up, wait_for
from tetherlib import topology

DOWNSTREAMS = ("d1", "d2", "mv1")
GROUP = "/tether-link-state:link-state/groups/group[id=1]"


# ---- topologies ------------------------------------------------------------------------------


def lst_topology(lab):
    """fw: up1 (peer `c-up1` in core), d1/d2 (peers in server), mv1 = macvlan on p1 (peer in server),
    mgmt0 (peer on the host) where tetherd listens."""
    fw, core, server = lab.netns("fw"), lab.netns("core"), lab.netns("server")
    lab.fw = fw
    lab.veth(fw, "up1", core, "c-up1")
    lab.veth(fw, "d1", server, "s-d1")
    lab.veth(fw, "d2", server, "s-d2")
    lab.veth(fw, "p1", server, "s-p1")
    fw.run("ip link add mv1 link p1 type macvlan mode bridge && ip link set mv1 up")
    lab.management(fw)
    return fw, core, server


def lst_config():
    def members(names):
        return {"interfaces": {"interface": [{"name": n, "config": {"name": n}} for n in names]}}

    return {
        "id": 1,
        "config": {"id": 1, "description": "netns test"},
        "upstream": members(["up1"]),
        "downstream": members(list(DOWNSTREAMS)),
    }


def member_status(g) -> dict[str, str]:
    got = g.get(GROUP + "/downstream/interfaces")
    return {i["name"]: i.get("state", {}).get("oper-status") for i in got.get("interface", [])}


def kernel_up(fw) -> dict[str, bool]:
    links = fw.links()
    return {n: link_is_up(links.get(n)) for n in DOWNSTREAMS}


def start_lst(lab, connect):
    fw, core, server = lst_topology(lab)
    d = lab.start_tetherd(fw)
    g = connect(d.addr)
    g.update((GROUP, lst_config()))
    wait_for(lambda: all(kernel_up(fw).values()), 5, what="downstreams up at start")
    wait_for(lambda: set(member_status(g).values()) == {"up"}, 5, what="members up in gNMI state")
    return fw, core, server, d, g


# ---- 1. link state -----------------------------------------------------------------------------


def test_link_state_tracking(lab, connect):
    fw, core, server, d, g = start_lst(lab, connect)

    # Cut and restore once with everything up.
    t0 = time.monotonic()
    core.run("ip link set c-up1 down")
    wait_for(lambda: not any(kernel_up(fw).values()), 2.0, 0.01, "downstreams down in the kernel within 2 s")
    took = time.monotonic() - t0
    wait_for(lambda: set(member_status(g).values()) == {"disabled"}, 2.0, what="members disabled in gNMI")
    print(f"carrier loss -> all downstreams down: {took * 1000:.0f} ms")
    for n, l in fw.links().items():
        if n in DOWNSTREAMS:
            print(f"  {n}: flags={l.get('flags')} protodown={l.get('proto_down')}")
    # macvlan supports protodown (carrier off, admin state kept); veth does not: admin down.
    mv1 = fw.link("mv1")
    assert mv1.get("proto_down") is True and "UP" in mv1["flags"], mv1
    assert "UP" not in fw.link("d1")["flags"]
    core.run("ip link set c-up1 up")
    wait_for(lambda: all(kernel_up(fw).values()), 3.0, 0.01, "downstreams back up")
    wait_for(lambda: set(member_status(g).values()) == {"up"}, 3.0, what="members up in gNMI")

    # A downstream shut by hand stays shut across cut and restore.
    fw.run("ip link set d2 down")
    time.sleep(0.5)
    core.run("ip link set c-up1 down")
    wait_for(lambda: not any(kernel_up(fw).values()), 2.0, 0.01, "downstreams down (2nd cut)")
    wait_for(lambda: member_status(g)["d1"] == "disabled" and member_status(g)["mv1"] == "disabled", 2.0,
             what="d1, mv1 disabled in gNMI")
    core.run("ip link set c-up1 up")
    wait_for(lambda: kernel_up(fw)["d1"] and kernel_up(fw)["mv1"], 3.0, 0.01, "d1, mv1 back up")
    time.sleep(1.5)  # past one drift-repair period
    l2 = fw.link("d2")
    assert "UP" not in l2["flags"], f"d2 was shut by hand and must stay admin down: {l2['flags']}"
    assert member_status(g)["d2"] != "up"
    assert d.alive()


# ---- 2. restart without flapping ---------------------------------------------------------------


class Poller(threading.Thread):
    """Records every up transition of the downstreams, polling the kernel every 10 ms."""

    def __init__(self, fw):
        super().__init__(daemon=True)
        self.fw = fw
        self.stop_ev = threading.Event()
        self.samples = 0
        self.ups: list[tuple[float, str, list]] = []

    def run(self):
        while not self.stop_ev.is_set():
            links = self.fw.links()
            self.samples += 1
            for n in DOWNSTREAMS:
                l = links.get(n)
                if l is not None and link_is_up(l):
                    self.ups.append((time.monotonic(), n, l.get("flags")))
            time.sleep(0.01)

    def stop(self):
        self.stop_ev.set()
        self.join(5)


def test_restart_does_not_flap(lab, connect):
    fw, core, server, d, g = start_lst(lab, connect)
    core.run("ip link set c-up1 down")
    wait_for(lambda: not any(kernel_up(fw).values()), 2.0, 0.01, "downstreams down")
    wait_for(lambda: set(member_status(g).values()) == {"disabled"}, 2.0, what="members disabled")
    time.sleep(0.3)  # let the disable record reach the store

    poller = Poller(fw)
    poller.start()
    try:
        d.kill()  # SIGKILL
        assert not d.alive()
        g.close()
        time.sleep(0.5)
        d2 = lab.start_tetherd(fw)  # same --data-dir
        g2 = connect(d2.addr)
        wait_for(lambda: set(member_status(g2).values()) == {"disabled"}, 5, what="members disabled after restart")
        time.sleep(3.0)  # several reconcile/repair periods
    finally:
        poller.stop()
    assert poller.samples > 100, poller.samples
    assert not poller.ups, f"downstream came up during the restart: {poller.ups[:5]}"
    assert not any(kernel_up(fw).values())

    core.run("ip link set c-up1 up")
    wait_for(lambda: all(kernel_up(fw).values()), 3.0, 0.01, "downstreams back after restore")
    wait_for(lambda: set(member_status(g2).values()) == {"up"}, 3.0, what="members up in gNMI")
    assert d2.alive()


# ---- the reference bypass topology (tests/topology/bypass.json, shared with the Rust tests) ----

_HOSTS = topology.load("bypass")["hosts"]
CLIENT, SERVER = _HOSTS["client"], _HOSTS["server"]
BYPASS = "/tether-conntrack-bypass:bypass"


class Topo(topology.Bypass):
    """site <-> dc over a direct "fibre" veth, or over "MPLS" through fw, where tetherd runs
    (reached over a management veth from the host)."""

    def __init__(self, lab):
        super().__init__(lab)
        lab.fw = self.fw
        lab.management(self.fw)


def bypass_config(bypass: bool, idle: int = 900) -> dict:
    """The reference scenario on fw's MPLS-side interfaces mp1 and dc0: access-list
    StatelessTraffic (port 5002 denied both ways, 198.18/16 <-> 198.19/16 permitted), class
    tcp_bypass, policy MPLS-policy, service-policy on mp1 and dc0."""

    def ace(seq, action, src, dst, sport=None, dport=None):
        c = {"sequence": seq, "action": action, "protocol": "tcp", "source-prefix": src, "destination-prefix": dst}
        if sport:
            c["source-port"] = sport
        if dport:
            c["destination-port"] = dport
        return {"sequence": seq, "config": c}

    cls = {"name": "tcp_bypass", "tcp-state-bypass": bypass, "idle-timeout": idle}
    return {
        "access-lists": {"access-list": [{
            "name": "StatelessTraffic",
            "config": {"name": "StatelessTraffic"},
            "entries": {"entry": [
                ace(10, "deny", "198.18.0.0/16", "198.19.0.0/16", dport="5002"),
                ace(11, "deny", "198.19.0.0/16", "198.18.0.0/16", sport="5002"),
                ace(20, "permit", "198.18.0.0/16", "198.19.0.0/16"),
                ace(30, "permit", "198.19.0.0/16", "198.18.0.0/16"),
            ]},
        }]},
        "classes": {"class": [{"name": "tcp_bypass", "config": {"name": "tcp_bypass", "match-access-list": "StatelessTraffic"}}]},
        "policies": {"policy": [{
            "name": "MPLS-policy", "config": {"name": "MPLS-policy"},
            "classes": {"class": [{"name": "tcp_bypass", "config": cls}]},
        }]},
        "service-policies": {"service-policy": [
            {"interface": i, "config": {"interface": i, "policy": "MPLS-policy"}} for i in ("mp1", "dc0")
        ]},
    }


def nft_table(fw) -> str | None:
    r = subprocess.run(fw.cmd("nft", "list", "table", "inet", "tether"), capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else None


def counter(v) -> int:
    return int(v) if v not in (None, [], "") else 0


def program_repairs(g) -> int:
    """`/bypass/state/program-repairs`; the leaf is absent (NOT_FOUND) until the first repair."""
    import grpc

    try:
        return counter(g.get(BYPASS + "/state/program-repairs", "STATE"))
    except grpc.RpcError as e:
        if e.code() == grpc.StatusCode.NOT_FOUND:
            return 0
        raise


def state_at(g, path: str) -> dict:
    """The STATE container at `path` under bypass, `{}` while it holds nothing."""
    got = g.get(BYPASS + path, "STATE")
    return got if isinstance(got, dict) else {}


def class_state(g) -> dict:
    return state_at(g, "/policies/policy[name=MPLS-policy]/classes/class[name=tcp_bypass]/state")


# ---- 3. drift -----------------------------------------------------------------------------------


def test_drift_flush_ruleset_is_repaired(lab, connect):
    t = Topo(lab)
    d = lab.start_tetherd(t.fw)
    g = connect(d.addr)
    g.update((BYPASS, bypass_config(True)))
    before = wait_for(lambda: (lambda s: s if s and "ct timeout" in s else None)(nft_table(t.fw)), 5,
                      what="inet tether installed with ct timeout")
    assert "hook forward" in before
    repairs0 = program_repairs(g)
    assert repairs0 == 0, repairs0

    # A bypassed connection over MPLS, then someone flushes the whole ruleset.
    t.server(5001)
    c = t.client(5001)
    assert c.exchange(), "over fibre"
    t.via_mpls()
    assert c.exchange(), "bypassed over MPLS"

    t0 = time.monotonic()
    t.fw.run("nft flush ruleset")
    assert nft_table(t.fw) is None
    wait_for(lambda: (lambda s: s and "ct timeout" in s)(nft_table(t.fw)), 2.5, 0.01,
             what="inet tether restored after nft flush ruleset")
    took = time.monotonic() - t0
    print(f"nft flush ruleset -> table restored: {took * 1000:.0f} ms")
    wait_for(lambda: program_repairs(g) >= 1, 3,
             what="program-repairs >= 1 in gNMI state")
    assert c.exchange(), "bypassed traffic resumes after the repair"
    c.close()
    assert d.alive()


# ---- 4. the bypass reference scenario end to end ------------------------------------------------


def test_reference_bypass_through_daemon(lab, connect):
    t = Topo(lab)
    d = lab.start_tetherd(t.fw)
    g = connect(d.addr)
    t.server(5001, 5002)

    # Control: the class exists but does not bypass: a connection established over fibre stalls on MPLS.
    g.update((BYPASS, bypass_config(False)))
    wait_for(lambda: (lambda s: s and "hook forward" in s)(nft_table(t.fw)), 5, what="inet tether installed")
    assert "ct timeout" not in nft_table(t.fw)
    c1 = t.client(5001)
    assert c1.exchange(), "over fibre"
    t.via_mpls()
    assert not c1.exchange(), "without bypass the firewall must drop the mid-flow connection"
    c1.close()

    # Bypass on over gNMI: a connection established over fibre keeps exchanging data over MPLS.
    t.via_fibre()
    g.update((BYPASS + "/policies/policy[name=MPLS-policy]/classes/class[name=tcp_bypass]/config",
              {"name": "tcp_bypass", "tcp-state-bypass": True, "idle-timeout": 900}))
    wait_for(lambda: (lambda s: s and "ct timeout" in s)(nft_table(t.fw)), 5, what="bypass program installed")
    c2 = t.client(5001)
    assert c2.exchange()
    t.via_mpls()
    for i in range(5):
        assert c2.exchange(), f"bypassed exchange {i}"
    st = wait_for(lambda: (lambda s: s if counter(s.get("bypass-connections-built")) >= 1 else None)(class_state(g)),
                  5, 0.2, "bypass-connections-built >= 1 in gNMI state")
    assert counter(st.get("matched-packets")) >= 5, st

    # Outside what the access-list permits (its deny entry for port 5002): dropped even with bypass.
    t.via_fibre()
    c3 = t.client(5002)
    assert c3.exchange(), "port 5002 over fibre"
    t.via_mpls()
    assert not c3.exchange(), "a deny entry must drop bypass traffic"
    c3.close()
    assert c2.exchange(), "the permitted connection still flows"
    c2.close()
    assert d.alive()
