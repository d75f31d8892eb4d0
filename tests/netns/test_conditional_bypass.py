"""Conditional bypass on the Linux dataplane (issue 20): the reference topology, with the class's
TCP state bypass armed by the fibre's carrier as the firewall sees it.

In the reference site the fibre bypasses the firewall, so fw needs a port whose carrier follows
the fibre: here a veth `trk0` (peer `trk1` in site) that the test cuts together with the fibre.
The class names it as `trigger-interface`, with a 3 s `trigger-hold-time`.

- fibre up: a connection whose site->dc half arrives over MPLS (asymmetric) is dropped: stateful;
- fibre cut: the bypass arms, a connection established over the fibre keeps flowing over MPLS;
- fibre back: during the hold new asymmetric flows still pass; after it they are held to state.

Run as root:  TETHERD=$PWD/target/debug/tetherd .venv/bin/pytest -q tests/netns
"""

from __future__ import annotations

import re
import time

from conftest import wait_for
from test_linux_dataplane import BYPASS, CLIENT, SERVER, Topo, bypass_config, class_state, nft_table

HOLD = 3
CLASS = BYPASS + "/policies/policy[name=MPLS-policy]/classes/class[name=tcp_bypass]"


class TrackedTopo(Topo):
    """The reference topology plus fw:trk0 <-> site:trk1, the fibre's carrier in fw."""

    def __init__(self, lab):
        super().__init__(lab)
        lab.veth(self.fw, "trk0", self.site, "trk1")

    def cut(self) -> None:
        self.via_mpls()
        self.site.run("ip link set trk1 down")

    def restore(self) -> None:
        self.site.run("ip link set trk1 up")
        self.via_fibre()

    def asymmetric(self) -> None:
        """site -> dc over MPLS (through fw), dc -> site over the fibre: fw sees one half."""
        self.site.run(f"ip route replace {SERVER}/32 via 198.18.20.2")


def conditional_config() -> dict:
    cfg = bypass_config(True)
    cls = cfg["policies"]["policy"][0]["classes"]["class"][0]["config"]
    cls["trigger-interface"] = "trk0"
    cls["trigger-hold-time"] = HOLD
    return cfg


def gate_armed(fw) -> bool | None:
    """Whether the class's gate chain holds the bypass accept (None: no gate chain)."""
    table = nft_table(fw) or ""
    m = re.search(r"chain g_[0-9a-f]+ \{(.*?)\}", table, re.S)
    if not m:
        return None
    return "ct timeout set" in m.group(1)


def reason(g) -> str | None:
    return class_state(g).get("armed-reason")


def test_bypass_armed_by_the_fibre_carrier(lab, connect):
    t = TrackedTopo(lab)
    d = lab.start_tetherd(t.fw)
    g = connect(d.addr)
    t.server(5001)
    g.update((BYPASS, conditional_config()))
    wait_for(lambda: gate_armed(t.fw) is False, 5, what="gate chain installed, disarmed")
    wait_for(lambda: reason(g) == "trigger-up", 5, what="armed-reason trigger-up")
    assert class_state(g).get("bypass-armed") is False

    # Fibre up: the site's half of a connection arriving over MPLS is held to state.
    c1 = t.client(5001, timeout=1)
    assert c1.exchange(), "over fibre"
    t.asymmetric()
    assert not c1.exchange(), "fibre up: a mid-flow segment from the MPLS side must be dropped"
    c1.close()
    t.via_fibre()

    # Cut the fibre: armed, and the connection built over the fibre keeps flowing over MPLS.
    c2 = t.client(5001)
    assert c2.exchange(), "over fibre"
    t0 = time.monotonic()
    t.cut()
    wait_for(lambda: gate_armed(t.fw), 3, 0.005, "gate armed in the kernel after the cut")
    armed_ms = (time.monotonic() - t0) * 1000
    for i in range(3):
        assert c2.exchange(), f"bypassed exchange {i} over MPLS"
    st = wait_for(lambda: (lambda s: s if s.get("armed-reason") == "trigger-down" else None)(class_state(g)),
                  3, what="armed-reason trigger-down")
    assert st.get("bypass-armed") is True and int(st["arm-transitions"]) == 1, st
    c2.close()

    # Restore: during the hold a new asymmetric connection still passes.
    t1 = time.monotonic()
    t.restore()
    wait_for(lambda: reason(g) == "hold-time", 3, what="armed-reason hold-time")
    assert "hold-until" in class_state(g)
    c3 = t.client(5001)
    assert c3.exchange(), "over fibre"
    t.asymmetric()
    assert c3.exchange(), "during the hold a mid-flow segment from MPLS still passes"
    c3.close()
    t.via_fibre()

    # After the hold: disarmed, and new asymmetric flows are held to state again.
    wait_for(lambda: gate_armed(t.fw) is False, HOLD + 3, 0.01, "gate disarmed after the hold")
    disarmed_s = time.monotonic() - t1
    st = wait_for(lambda: (lambda s: s if s.get("armed-reason") == "trigger-up" else None)(class_state(g)),
                  3, what="armed-reason trigger-up")
    assert int(st["arm-transitions"]) == 2, st
    c4 = t.client(5001, timeout=1)
    assert c4.exchange(), "over fibre"
    t.asymmetric()
    assert not c4.exchange(), "after the hold a mid-flow segment from MPLS must be dropped again"
    c4.close()
    print(f"carrier loss -> gate armed: {armed_ms:.0f} ms; carrier back -> disarmed: {disarmed_s:.2f} s "
          f"(hold {HOLD} s)")
    assert d.alive()
