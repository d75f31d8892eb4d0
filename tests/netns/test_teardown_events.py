"""Kernel idle expiry seen through conntrack's DESTROY events (issue 20), with IPv6 traffic:
the reference topology doubled in 2001:db8::/32, a bypass connection carried over MPLS in IPv6,
left idle past its 2 s idle timeout; the kernel expires it and the class's torn-down-idle counts
it from the event (tetherd runs `conntrack -E`, it polls nothing for this).

Run as root:  TETHERD=$PWD/target/debug/tetherd .venv/bin/pytest -q tests/netns
"""

from __future__ import annotations

import subprocess

from conftest import wait_for
from test_bypass_modes import entries
from test_linux_dataplane import BYPASS, Topo, bypass_config, class_state, counter, nft_table
from tetherlib.topology import TOPOLOGIES

CLIENT6, SERVER6 = "2001:db8:1::2", "2001:db8:2::2"


def add_ipv6(t) -> None:
    """The topology's links and host addresses in IPv6 (nodad: usable at once)."""
    steps = [
        (t.site, f"ip -6 addr add {CLIENT6}/128 dev lo nodad"),
        (t.site, "ip -6 addr add 2001:db8:10::1/64 dev fib0 nodad && ip -6 addr add 2001:db8:20::1/64 dev mp0 nodad"),
        (t.dc, f"ip -6 addr add {SERVER6}/128 dev lo nodad"),
        (t.dc, "ip -6 addr add 2001:db8:10::2/64 dev fib1 nodad && ip -6 addr add 2001:db8:30::2/64 dev dc1 nodad"),
        (t.fw, "ip -6 addr add 2001:db8:20::2/64 dev mp1 nodad && ip -6 addr add 2001:db8:30::1/64 dev dc0 nodad"),
        (t.fw, "sysctl -qw net.ipv6.conf.all.forwarding=1"),
        (t.fw, f"ip -6 route add {CLIENT6}/128 via 2001:db8:20::1 && ip -6 route add {SERVER6}/128 via 2001:db8:30::2"),
    ]
    for ns, cmd in steps:
        ns.run(cmd)
    route6(t, "fibre")


def route6(t, path: str) -> None:
    if path == "fibre":
        t.site.run(f"ip -6 route replace {SERVER6}/128 via 2001:db8:10::2")
        t.dc.run(f"ip -6 route replace {CLIENT6}/128 via 2001:db8:10::1")
    else:
        t.site.run(f"ip -6 route replace {SERVER6}/128 via 2001:db8:20::2")
        t.dc.run(f"ip -6 route replace {CLIENT6}/128 via 2001:db8:30::1")


def ipv6_config(idle: int) -> dict:
    cfg = bypass_config(True, idle=idle)
    entries6 = [
        {"sequence": s, "config": {"sequence": s, "action": "permit", "protocol": "tcp",
                                   "source-prefix": src, "destination-prefix": dst}}
        for s, src, dst in [(40, "2001:db8:1::/48", "2001:db8:2::/48"), (50, "2001:db8:2::/48", "2001:db8:1::/48")]
    ]
    cfg["access-lists"]["access-list"][0]["entries"]["entry"].extend(entries6)
    return cfg


def test_idle_expiry_of_an_ipv6_bypass_connection_is_counted_from_conntrack_events(lab, connect):
    t = Topo(lab)
    add_ipv6(t)
    d = lab.start_tetherd(t.fw)
    g = connect(d.addr)
    g.update((BYPASS, ipv6_config(idle=2)))
    wait_for(lambda: (lambda s: s and "ip6 saddr" in s and "t_2" in s)(nft_table(t.fw)), 5,
             what="the IPv6 bypass program installed")
    assert any("conntrack DESTROY events" in l for l in d.log), "tetherd counts teardowns from events"

    server = lab.spawn(t.dc, ["python3", str(TOPOLOGIES / "echo_server.py"), SERVER6, "5003"],
                       stdout=subprocess.PIPE, text=True)
    assert server.stdout.readline().strip() == "ready"
    client = lab.spawn(t.site, ["python3", str(TOPOLOGIES / "echo_client.py"), CLIENT6, SERVER6, "5003", "2"],
                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    assert client.stdout.readline().strip() == "connected"

    def exchange() -> bool:
        client.stdin.write("go\n")
        client.stdin.flush()
        return client.stdout.readline().strip() == "ok"

    assert exchange(), "IPv6 over the fibre"
    route6(t, "mpls")
    for i in range(3):
        assert exchange(), f"IPv6 bypassed over MPLS, exchange {i}"
    (e,) = wait_for(lambda: entries(t.fw, 5003), 3, 0.05, "the IPv6 bypass entry")
    assert f"src={CLIENT6}" in " ".join(e), e
    before = counter(class_state(g).get("torn-down-idle"))

    # Idle past the 2 s timeout: the kernel expires the entry and says so.
    wait_for(lambda: not entries(t.fw, 5003), 15, 0.2, "the kernel expired the idle IPv6 entry")
    st = wait_for(lambda: (lambda s: s if counter(s.get("torn-down-idle")) == before + 1 else None)(class_state(g)),
                  5, 0.2, "torn-down-idle counted the expiry")
    assert counter(st.get("bypass-connections-current")) == 0, st
    assert counter(st.get("torn-down-flushed")) == 0, st
    # Bypass still works for it: the next segment, mid-flow, builds a fresh entry.
    assert exchange(), "the idle connection resumes over MPLS"
    client.kill()
    assert d.alive()
