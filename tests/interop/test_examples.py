"""The automation examples in docs/examples/ run against a real tetherd and print what the
user guide says they print."""

from __future__ import annotations

import subprocess
import sys

from pygnmi.client import gNMIclient

from conftest import REPO
from tetherlib.wait import eventually


def test_push_link_state_waits_for_applied_and_reads_state(tetherd):
    script = REPO / "docs" / "examples" / "push_link_state.py"
    # The lab: simulated interfaces, the upstream without carrier (user guide §2).
    ifs = [{"name": n, "config": {"name": n}, "simulation": {"config": {"carrier": n != "Po11"}}}
           for n in ("Po11", "Gi1/1", "Gi1/2")]
    with gNMIclient(target=(tetherd.host, tetherd.port), insecure=True) as c:
        c.set(update=[("/tether-interfaces:interfaces", {"interface": ifs})], encoding="json_ietf")
    r = subprocess.run(
        [sys.executable, str(script), "--target", f"{tetherd.host}:{tetherd.port}", "--group", "7",
         "--upstream", "Po11", "--downstream", "Gi1/1", "--downstream", "Gi1/2"],
        capture_output=True, text=True, timeout=60,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    # The only upstream has no carrier: the group is down and both downstreams are
    # error-disabled, which the script reads once the commit is applied.
    assert r.stdout.strip() == "group 7: applied; status down, upstreams up 0/1, downstreams disabled 2", r.stdout


def test_push_link_state_refused_input_exits_non_zero(tetherd):
    script = REPO / "docs" / "examples" / "push_link_state.py"
    r = subprocess.run(
        [sys.executable, str(script), "--target", f"{tetherd.host}:{tetherd.port}", "--group", "0"],
        capture_output=True, text=True, timeout=60,
    )
    assert r.returncode != 0
    assert "INVALID_ARGUMENT" in r.stderr or "invalid" in r.stderr.lower(), r.stderr[-2000:]


def test_netconf_confirmed_push_confirms_or_reverts(tetherd):
    from test_netconf import connect, netconf_port

    script = REPO / "docs" / "examples" / "netconf_confirmed_push.py"
    base = [sys.executable, str(script), "--port", str(netconf_port(tetherd)), "--group", "7"]
    r = subprocess.run([*base, "--description", "edge uplinks"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "group 7: committed and confirmed", r.stdout + r.stderr

    r = subprocess.run([*base, "--description", "trial", "--no-confirm", "--confirm-timeout", "1"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "unconfirmed: reverts in 1 s" in r.stdout, r.stdout + r.stderr

    def description() -> str:
        with connect(tetherd) as m:
            xml = m.get_config(source="running").data_xml
        return xml.split("<description>", 1)[1].split("</description>", 1)[0]

    assert description() == "trial", "the unconfirmed change is in running until it reverts"
    eventually(description, lambda d: d == "edge uplinks", timeout=15, interval=0.2)

    r = subprocess.run([*base, "--description", "x" * 300], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "refused:" in r.stderr, r.stdout + r.stderr
    assert description() == "edge uplinks", "a refused push changes nothing"
