"""Per-class timeouts and connection limits on the Linux dataplane (issue 20): the ASA's
`set connection conn-max`, `embryonic-conn-max` and `timeout embryonic|half-closed` on the
reference topology's class (stateful here: no tcp-state-bypass), connections made over MPLS so
every handshake crosses fw.

Run as root:  TETHERD=$PWD/target/debug/tetherd .venv/bin/pytest -q tests/netns
"""

from __future__ import annotations

import subprocess

from conftest import wait_for
from test_bypass_modes import entries
from test_linux_dataplane import (
    BYPASS, CLIENT, SERVER, Topo, bypass_config, class_state, counter, nft_table, state_at,
)

CONNECT = """
import socket, sys, time
s = socket.socket()
s.bind(("{client}", 0))
s.settimeout({timeout})
try:
    s.connect(("{server}", {port}))
    print("ok", flush=True)
    time.sleep({hold})
except OSError as e:
    print("fail", e, flush=True)
"""


def attempt(t, port: int, timeout: float = 1.0, hold: float = 30.0):
    """A connection attempt from site, held open for `hold` s; returns the process (its
    first line says ok or fail)."""
    code = CONNECT.format(client=CLIENT, server=SERVER, port=port, timeout=timeout, hold=hold)
    return t.lab.spawn(t.site, ["python3", "-c", code], stdout=subprocess.PIPE, text=True)


def limits_config(**leaves) -> dict:
    cfg = bypass_config(False)
    cfg["policies"]["policy"][0]["classes"]["class"][0]["config"].update(leaves)
    return cfg


def test_conn_max_refuses_the_connection_beyond_it(lab, connect):
    t = Topo(lab)
    d = lab.start_tetherd(t.fw)
    g = connect(d.addr)
    t.server(5001)
    g.update((BYPASS, limits_config(**{"conn-max": 2, "half-closed-timeout": 45, "embryonic-timeout": 7})))
    wait_for(lambda: (lambda s: s and "ct count over 2" in s)(nft_table(t.fw)), 5, what="conn-max installed")
    assert "te_900_7_45" in nft_table(t.fw), "the class's ct timeout object (idle, embryonic, half-closed)"
    t.via_mpls()
    first = [attempt(t, 5001) for _ in range(2)]
    assert [p.stdout.readline().split()[0] for p in first] == ["ok", "ok"]
    third = attempt(t, 5001)
    assert third.stdout.readline().split()[0] == "fail", "the third connection is beyond conn-max 2"
    st = wait_for(lambda: (lambda s: s if counter(s.get("refused-conn-max")) >= 1 else None)(class_state(g)),
                  5, 0.2, "refused-conn-max >= 1 in gNMI state")
    assert counter(st.get("refused-embryonic-conn-max")) == 0, st
    # The established ones run on the class's ct timeout object (idle 900 s).
    est = [e for e in entries(t.fw, 5001) if "ESTABLISHED" in e]
    assert len(est) == 2 and all(800 < int(e[2]) <= 900 for e in est), est
    assert d.alive()


def test_embryonic_timeout_applies_and_embryonic_conn_max_is_refused(lab, connect):
    t = Topo(lab)
    d = lab.start_tetherd(t.fw)
    g = connect(d.addr)
    # dc never answers SYNs to port 6000: connections stay embryonic at fw.
    t.dc.run("nft add table inet blackhole && nft add chain inet blackhole in "
             "'{ type filter hook input priority 0; }' && nft add rule inet blackhole in tcp dport 6000 drop")
    g.update((BYPASS, limits_config(**{"embryonic-timeout": 5})))
    wait_for(lambda: (lambda s: s and "te_900_5_0" in s)(nft_table(t.fw)), 5, what="embryonic timeout installed")
    t.via_mpls()
    attempt(t, 6000, timeout=3, hold=0)
    (e,) = wait_for(lambda: entries(t.fw, 6000), 3, 0.05, "the SYN's entry at fw")
    assert "SYN_SENT" in e and int(e[2]) <= 5, f"the class's 5 s embryonic timeout: {e}"

    # embryonic-conn-max: the Linux dataplane says it cannot enforce it, and keeps the program
    # it has (the embryonic timeout stays in force).
    g.update((BYPASS + "/policies/policy[name=MPLS-policy]/classes/class[name=tcp_bypass]/config/embryonic-conn-max", 10))
    st = wait_for(lambda: (lambda s: s if s.get("applied") is False else None)(state_at(g, "/service-policies/service-policy[interface=mp1]/state")), 5, 0.1,
                  "service-policy applied false")
    assert "embryonic-conn-max" in st.get("last-error", ""), st
    assert "te_900_5_0" in nft_table(t.fw)
    assert d.alive()
