"""Interface drift (issue 5, "Drift"): an operator brings up a downstream that Tether disabled
because its link-state group's upstream is cut; the worker's 1 s reconcile puts it down again and
counts the repair in `/tether-link-state:link-state/state/disable-repairs`.

Run as root:  TETHERD=$PWD/target/debug/tetherd .venv/bin/pytest -q tests/netns
"""

from __future__ import annotations

import time

import grpc

from conftest import wait_for
from test_linux_dataplane import DOWNSTREAMS, kernel_up, member_status, start_lst

REPAIRS = "/tether-link-state:link-state/state/disable-repairs"


def disable_repairs(g) -> int:
    """The leaf may be absent (NOT_FOUND) until the first repair."""
    try:
        v = g.get(REPAIRS, "STATE")
    except grpc.RpcError as e:
        if e.code() == grpc.StatusCode.NOT_FOUND:
            return 0
        raise
    return int(v) if v not in (None, [], "") else 0


def test_downstream_brought_up_by_hand_is_disabled_again(lab, connect):
    fw, core, server, d, g = start_lst(lab, connect)

    core.run("ip link set c-up1 down")
    wait_for(lambda: not any(kernel_up(fw).values()), 2.0, 0.01, "downstreams down after the cut")
    wait_for(lambda: set(member_status(g).values()) == {"disabled"}, 2.0, what="members disabled in gNMI")
    assert "UP" not in fw.link("d1")["flags"], "veth d1 is disabled by admin down"
    time.sleep(0.3)  # let the disable settle (and reach the store) before tampering
    repairs0 = disable_repairs(g)

    # The operator overrides Tether.
    t0 = time.monotonic()
    fw.run("ip link set d1 up")
    assert "UP" in fw.link("d1")["flags"], "the operator's `link set up` took effect"

    wait_for(lambda: "UP" not in fw.link("d1")["flags"], 2.0, 0.01, "d1 admin down again within 2 s")
    took = time.monotonic() - t0
    print(f"`ip link set d1 up` -> Tether put it down again: {took * 1000:.0f} ms")
    wait_for(lambda: disable_repairs(g) >= repairs0 + 1, 2.0, what="disable-repairs incremented in gNMI")
    assert disable_repairs(g) >= 1

    # Still disabled in gNMI state and in the kernel; stays down over another reconcile period.
    time.sleep(1.2)
    assert not any(kernel_up(fw).values()), fw.links()
    assert member_status(g)["d1"] == "disabled"

    # Restoring the upstream brings it back as usual: the repair did not make d1 "operator-shut".
    core.run("ip link set c-up1 up")
    wait_for(lambda: all(kernel_up(fw).values()), 3.0, 0.01, "downstreams back after restore")
    wait_for(lambda: set(member_status(g).values()) == {"up"}, 3.0, what="members up in gNMI")
    assert set(DOWNSTREAMS) == set(member_status(g))
    assert d.alive()
