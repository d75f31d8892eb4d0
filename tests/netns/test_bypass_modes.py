"""Bypass modes on the Linux dataplane (issue 20): the reference topology with the class in
`syn-check` mode (Junos no-syn-check: picked up mid-flow, then tracked as usual) and in
`stateless` mode (notrack: no conntrack entry at all). `full` is test_linux_dataplane.py's
reference scenario.

Run as root:  TETHERD=$PWD/target/debug/tetherd .venv/bin/pytest -q tests/netns
"""

from __future__ import annotations

import subprocess

from conftest import wait_for
from test_linux_dataplane import BYPASS, Topo, bypass_config, class_state, counter, nft_table


def mode_config(mode: str) -> dict:
    cfg = bypass_config(True, idle=900)
    cfg["policies"]["policy"][0]["classes"]["class"][0]["config"]["bypass-mode"] = mode
    return cfg


def entries(fw, port: int) -> list[list[str]]:
    """`conntrack -L` lines of TCP connections to `port` in fw, split into fields."""
    r = subprocess.run(fw.cmd("conntrack", "-L", "-p", "tcp", "--dport", str(port)),
                       capture_output=True, text=True)
    return [l.split() for l in r.stdout.splitlines() if l.startswith("tcp")]


def start(lab, connect, mode: str, marker: str):
    """The reference topology, tetherd in fw, echo servers on 5001 and 5002, the class in
    `mode`; returns once the table shows `marker`."""
    t = Topo(lab)
    d = lab.start_tetherd(t.fw)
    g = connect(d.addr)
    t.server(5001, 5002)
    g.update((BYPASS, mode_config(mode)))
    wait_for(lambda: (lambda s: s and marker in s)(nft_table(t.fw)), 5, what=f"{mode} program installed")
    return t, d, g


def deny_still_drops(t, mode: str) -> None:
    """The access-list's deny entry (port 5002): a connection made over the fibre is dropped
    once it moves to MPLS, whatever the mode."""
    t.via_fibre()
    c = t.client(5002, timeout=1)
    assert c.exchange()
    t.via_mpls()
    assert not c.exchange(), f"a deny entry must drop {mode} traffic"
    c.close()


def test_syn_check_picks_up_mid_flow_then_tracks_fin(lab, connect):
    t, d, g = start(lab, connect, "syn-check", "te_900")

    c = t.client(5001)
    assert c.exchange(), "over fibre"
    t.via_mpls()
    for i in range(3):
        assert c.exchange(), f"picked up mid-flow over MPLS, exchange {i}"
    (e,) = entries(t.fw, 5001)
    assert "ESTABLISHED" in e and int(e[2]) > 800, f"tracked, the class's idle timeout while established: {e}"
    assert any(f.startswith("mark=") and int(f[5:]) >> 24 == 0x7f for f in e), f"an ordinary (not bypass) entry: {e}"
    st = wait_for(lambda: (lambda s: s if counter(s.get("bypass-connections-built")) >= 1 else None)(class_state(g)),
                  5, 0.2, "bypass-connections-built >= 1")
    assert counter(st.get("bypass-connections-current")) == 0, st

    # The client closes: conntrack follows the FIN into its closing states, on the kernel's
    # timeouts (a full bypass entry would stay on the 900 s idle timeout).
    c.close()
    closing = wait_for(lambda: [e for e in entries(t.fw, 5001) if "ESTABLISHED" not in e], 5, 0.05,
                       "the entry leaves ESTABLISHED after the close")
    assert int(closing[0][2]) <= 300, closing

    deny_still_drops(t, "syn-check")
    assert d.alive()


def test_stateless_keeps_no_connection_entry(lab, connect):
    t, d, g = start(lab, connect, "stateless", "notrack")
    assert "hook prerouting priority raw" in nft_table(t.fw)

    # Even the handshake (over MPLS from the start) builds no entry.
    t.via_mpls()
    c = t.client(5001)
    for i in range(3):
        assert c.exchange(), f"stateless exchange {i}"
    assert entries(t.fw, 5001) == [], "no conntrack entry for a stateless class's TCP"
    st = wait_for(lambda: (lambda s: s if counter(s.get("matched-packets")) >= 6 else None)(class_state(g)),
                  5, 0.2, "matched-packets counted")
    assert counter(st.get("bypass-connections-built")) == 0, st
    c.close()

    deny_still_drops(t, "stateless")
    assert d.alive()
