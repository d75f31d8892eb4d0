"""Tether's own protodown_reason bit (issue 20): link state tracking disables a macvlan
downstream with protodown and reason bit 6 only, so it coexists with another daemon that holds
the same interface protodown with its own reason (bit 1 here): Tether never clears the other's
reason, and leaves protodown on while that reason is active (the kernel would refuse anyway).

Run as root:  TETHERD=$PWD/target/debug/tetherd .venv/bin/pytest -q tests/netns
"""

from __future__ import annotations

import time

from conftest import wait_for
from test_linux_dataplane import kernel_up, start_lst


def protodown(fw, dev: str) -> tuple[bool, set[str]]:
    l = fw.link(dev) or {}
    return bool(l.get("proto_down")), set(l.get("proto_down_reason", []))


def test_tether_sets_and_clears_only_its_own_protodown_reason(lab, connect):
    fw, core, server, d, g = start_lst(lab, connect)

    # Tether alone: its bit, and protodown cleared again when the uplink returns.
    core.run("ip link set c-up1 down")
    wait_for(lambda: protodown(fw, "mv1") == (True, {"6"}), 3, 0.01, "mv1 protodown with Tether's reason 6")
    core.run("ip link set c-up1 up")
    wait_for(lambda: protodown(fw, "mv1") == (False, set()), 3, 0.01, "mv1 protodown cleared")

    # Another daemon holds mv1 protodown with its reason 1.
    fw.run("ip link set mv1 protodown_reason 1 on && ip link set mv1 protodown on")
    core.run("ip link set c-up1 down")
    wait_for(lambda: protodown(fw, "mv1") == (True, {"1", "6"}), 3, 0.01, "both reasons on mv1")
    wait_for(lambda: not any(kernel_up(fw).values()), 3, 0.01, "every downstream down")
    core.run("ip link set c-up1 up")
    wait_for(lambda: kernel_up(fw)["d1"], 3, 0.01, "d1 back up")
    wait_for(lambda: protodown(fw, "mv1") == (True, {"1"}), 3, 0.01,
             "Tether cleared its reason only; the other daemon's protodown stays")
    time.sleep(1.5)  # past a drift-repair period: Tether does not fight the other daemon
    assert protodown(fw, "mv1") == (True, {"1"})

    # The other daemon lets go: mv1 comes up, and Tether leaves it so.
    fw.run("ip link set mv1 protodown_reason 1 off && ip link set mv1 protodown off")
    wait_for(lambda: kernel_up(fw)["mv1"], 3, 0.01, "mv1 up")
    time.sleep(1.5)
    assert kernel_up(fw)["mv1"] and protodown(fw, "mv1") == (False, set())
    assert d.alive()
