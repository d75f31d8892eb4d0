"""docs/walkthrough.md, run: the Debian package installed with dpkg, tetherd started as the
unit's ExecStart does with --dataplane linux in a namespace of its own, the page's ASA/IOS
excerpt imported with its interface map by the installed tetherctl, link state watched over
gNMI (a tetherctl subscription) and in tetherd's log while the upstream loses carrier.

Run as root:  TETHERD=$CARGO_TARGET_DIR/debug/tetherd .venv/bin/pytest -q tests/netns/test_walkthrough.py
(the package is built from the debug binaries next to $TETHERD by deploy/build-deb.sh --debug).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import threading
from pathlib import Path

import pytest

from conftest import GNMI_PORT, link_is_up, sh, tetherd_binary, wait_for
from tetherlib import REPO, daemon

DOC = REPO / "docs" / "walkthrough.md"
STATUS = "/link-state/groups/group[id=1]/state/status"


def block(marker: str) -> str:
    """The fenced block right after `<!-- walkthrough:MARKER -->` in the page."""
    text = DOC.read_text()
    m = re.search(rf"<!-- walkthrough:{marker} -->\n```[a-z]*\n(.*?)```", text, re.S)
    assert m, f"docs/walkthrough.md has no {marker} block"
    return m.group(1)


def installed_package() -> bool:
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", "tether"], capture_output=True, text=True)
    return "install ok installed" in r.stdout


@pytest.fixture
def package():
    """Builds the .deb from the debug binaries and installs it; purges it afterwards."""
    if installed_package():
        pytest.skip("a tether package is installed on this machine already: not touching it")
    # The binaries under test: <target>/debug/tetherd and tetherctl.
    env = dict(os.environ, CARGO_TARGET_DIR=str(tetherd_binary().parent.parent))
    deb = subprocess.run(
        [str(REPO / "deploy" / "build-deb.sh"), "--debug"], capture_output=True, text=True, env=env, timeout=600
    )
    assert deb.returncode == 0, deb.stderr
    path = deb.stdout.strip().splitlines()[-1]
    sh(["dpkg", "-i", path], timeout=300)
    try:
        yield path
    finally:
        subprocess.run(["dpkg", "--purge", "tether"], capture_output=True)


def topology(lab):
    """fw: eth1 (the port-channel; peer c-eth1 in core), eth2/eth3 (the access ports; peers in
    server), mgmt0 where tetherd listens."""
    fw, core, server = lab.netns("fw"), lab.netns("core"), lab.netns("server")
    lab.fw = fw
    lab.veth(fw, "eth1", core, "c-eth1")
    lab.veth(fw, "eth2", server, "s-eth2")
    lab.veth(fw, "eth3", server, "s-eth3")
    mgmt = lab.management(fw)
    return fw, core, mgmt


def test_walkthrough(lab, package, tmp_path):
    fw, core, mgmt = topology(lab)

    # 2. The unit's ExecStart, with the page's RUST_LOG; the page's one config change
    # (dataplane = "linux") and the namespace's own address and data dir as flags.
    unit = Path("/lib/systemd/system/tetherd.service").read_text()
    exec_start = shlex.split(re.search(r"^ExecStart=(.*)$", unit, re.M).group(1))
    assert exec_start[0] == "/usr/bin/tetherd"
    rust_log = re.search(r"Environment=RUST_LOG=(\S+)", block("log")).group(1)
    argv = fw.cmd(
        *exec_start, "--dataplane", "linux", "--insecure",
        "--listen", f"{mgmt}:{GNMI_PORT}", "--netconf-listen", f"{mgmt}:0",
        "--data-dir", str(tmp_path / "data"),
    )
    d = daemon.Tetherd(argv, tmp_path / "data", log_filter=rust_log)
    lab.daemons.append(d)
    # --insecure: the lab daemon serves plaintext on the namespace address (not loopback).
    ctl = ["/usr/bin/tetherctl", "--target", d.addr, "--insecure"]

    # 3. The excerpt, imported with the page's interface map.
    cfg = tmp_path / "branch.cfg"
    cfg.write_text(block("config"))
    words = shlex.split(block("import").strip())
    assert words[:3] == ["tetherctl", "import", "branch.cfg"], words
    imported = subprocess.run(ctl + ["import", str(cfg)] + words[3:], capture_output=True, text=True, timeout=60)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    wait_for(lambda: any("Set applied" in l for l in d.log), 5, what="'Set applied' in the log")
    detail = sh(ctl + ["show", "link-state", "group", "1", "detail"])
    for name in ("eth1", "eth2", "eth3"):
        assert name in detail, detail

    # 4. The subscription: current value, then every change.
    sub = subprocess.Popen(
        ctl + ["subscribe", STATUS, "--stream-mode", "on-change"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    lab.procs.append(sub)
    seen: list[str] = []

    def read():
        for line in sub.stdout:
            seen.append(line.strip())

    threading.Thread(target=read, daemon=True).start()
    wait_for(lambda: any(l.endswith('"up"') for l in seen), 10, what='status "up" over gNMI')
    wait_for(lambda: all(link_is_up(fw.link(n)) for n in ("eth2", "eth3")), 5, what="eth2, eth3 up")

    # 5. The upstream loses carrier.
    core.run("ip link set c-eth1 down")
    wait_for(lambda: any(l.endswith('"down"') for l in seen), 5, what='status "down" over gNMI')
    wait_for(lambda: not any(link_is_up(fw.link(n)) for n in ("eth2", "eth3")), 5, what="eth2, eth3 down")
    for name in ("eth2", "eth3"):
        wait_for(
            lambda: any("applied" in l and f'interface="{name}"' in l and "disable=true" in l for l in d.log),
            5, what=f"the log says {name} was disabled",
        )

    # ... and gets it back.
    ups = sum(l.endswith('"up"') for l in seen)
    core.run("ip link set c-eth1 up")
    wait_for(lambda: sum(l.endswith('"up"') for l in seen) > ups, 5, what='status "up" again over gNMI')
    wait_for(lambda: all(link_is_up(fw.link(n)) for n in ("eth2", "eth3")), 5, what="eth2, eth3 up again")
    assert any("applied" in l and 'interface="eth2"' in l and "disable=false" in l for l in d.log)
    assert d.alive()
