"""NETCONF with the other two stock clients of issue 15, netconf-console2 (the CLI, run as a
user runs it) and scrapli-netconf (the library, over its paramiko transport), against a real
tetherd: hello, candidate edit + validate + commit, filters, locks, get-schema, refused edits
that change nothing and name the whole path, and the reference configuration pushed by one
client and read back by the other and over gNMI."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pygnmi.client import gNMIclient
from scrapli_netconf.driver import NetconfDriver

from conftest import normalize
from tetherlib.wait import eventually
from test_netconf import NS, netconf_port, to_xml

NC_BIN = Path(sys.executable).with_name("netconf-console2")
BYP = "urn:tether:yang:tether-conntrack-bypass"


def ncc(d, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """One netconf-console2 run; it exits non-zero when the server answers an rpc-error."""
    r = subprocess.run(
        [str(NC_BIN), "--host", "127.0.0.1", "--port", str(netconf_port(d)), "-u", "admin", "-p", "x", *args],
        capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if check:
        assert r.returncode == 0, f"netconf-console2 {args}: rc={r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


def scrapli(d) -> NetconfDriver:
    conn = NetconfDriver(
        host="127.0.0.1", port=netconf_port(d), auth_username="admin", auth_password="x",
        auth_strict_key=False, transport="paramiko", timeout_ops=30,
    )
    conn.open()
    return conn


def without_message_id(reply: str) -> str:
    return re.sub(r'message-id="[^"]*"', "", reply)


def group_data(gid: int, desc: str) -> str:
    return (f'<link-state xmlns="{NS}"><groups><group><id>{gid}</id>'
            f"<config><id>{gid}</id><description>{desc}</description></config></group></groups></link-state>")


def group_ids(xml: str) -> set[int]:
    return {int(x) for x in re.findall(r"<group>\s*<id>(\d+)</id>", xml)}


def test_netconf_console2_candidate_validate_commit_and_filters(tetherd, tmp_path):
    hello = ncc(tetherd, "--hello").stdout
    for cap in ("base:1.1", "capability:candidate:1.0", "capability:writable-running:1.0",
                "capability:validate:1.1", "capability:xpath:1.0"):
        assert f"urn:ietf:params:netconf:{cap}" in hello, cap
    assert "module=tether-link-state" in hello

    data = tmp_path / "g7.xml"
    data.write_text(group_data(7, "from netconf-console2"))
    ncc(tetherd, "--db", "candidate", "--edit-config", str(data))
    assert group_ids(ncc(tetherd, "--get-config", "--db", "candidate", "-x", "/link-state/groups/group").stdout) == {7}
    # Not committed yet: running does not have it.
    assert group_ids(ncc(tetherd, "--get-config", "-x", "/link-state/groups/group").stdout) == set()
    ncc(tetherd, "--validate", "candidate")
    ncc(tetherd, "--commit")
    running = ncc(tetherd, "--get-config", "-x", "/link-state/groups/group/config/description").stdout
    assert "<description>from netconf-console2</description>" in running

    # Subtree filter on state (netconf-console2 builds it from a simple XPath); the worker
    # writes state after the commit, asynchronously.
    status = eventually(lambda: ncc(tetherd, "--ns", f"t={NS}", "--get", "--filter",
                                    "/t:link-state/t:groups/t:group[t:id='7']/t:state/t:status").stdout,
                        lambda out: "<status>up</status>" in out)
    assert "<upstream-total>" not in status, "the filter selects only status"
    # with-defaults report-all on config.
    all_defaults = ncc(tetherd, "--with-defaults", "report-all", "--get-config", "-x",
                       "/link-state/groups/group[id='7']/config").stdout
    assert "<up-delay>0</up-delay>" in all_defaults
    explicit = ncc(tetherd, "--get-config", "-x", "/link-state/groups/group[id='7']/config").stdout
    assert "<up-delay>" not in explicit

    schema = ncc(tetherd, "--get-schema", "tether-link-state").stdout
    assert "module tether-link-state" in schema

    # A lock dies with its session: each run is a session, so a second lock succeeds and an
    # unlock from a session that holds nothing is refused.
    ncc(tetherd, "--lock", "--db", "running")
    ncc(tetherd, "--lock", "--db", "running")
    r = ncc(tetherd, "--unlock", "--db", "running", check=False)
    assert r.returncode != 0 and "<error-tag>operation-failed</error-tag>" in r.stdout, r.stdout


def test_netconf_console2_refused_edit_names_the_path_and_changes_nothing(tetherd, tmp_path):
    good = tmp_path / "good.xml"
    good.write_text(group_data(3, "kept"))
    ncc(tetherd, "--db", "running", "--edit-config", str(good))
    before = ncc(tetherd, "--get-config").stdout
    bad = tmp_path / "bad.xml"
    bad.write_text(f'<link-state xmlns="{NS}"><groups><group><id>3</id><config><id>3</id>'
                   f"<up-delay>soon</up-delay></config></group></groups></link-state>")
    r = ncc(tetherd, "--db", "running", "--edit-config", str(bad), check=False)
    assert "<error-tag>invalid-value</error-tag>" in r.stdout, r.stdout
    # The whole path of the leaf (libyang names the entry without its key while parsing).
    assert re.search(r"<error-path>/tether-link-state:link-state/groups/group(\[id='3'\])?/config/up-delay</error-path>",
                     r.stdout), r.stdout
    assert ncc(tetherd, "--get-config").stdout == before


def test_scrapli_netconf_locked_candidate_commit_and_refusals(tetherd):
    conn = scrapli(tetherd)
    try:
        assert "urn:ietf:params:netconf:base:1.1" in conn.server_capabilities
        assert not conn.lock(target="candidate").failed
        r = conn.edit_config(config=f"<config>{group_data(9, 'from scrapli')}{group_data(10, 'second')}</config>",
                             target="candidate")
        assert not r.failed, r.result
        assert not conn.validate(source="candidate").failed
        assert not conn.commit().failed
        assert not conn.unlock(target="candidate").failed
        r = conn.get_config(source="running", filter_="/link-state/groups/group", filter_type="xpath")
        assert group_ids(r.result) == {9, 10}

        # A key that is not a number: refused with the whole path, running unchanged.
        before = without_message_id(conn.get_config(source="running").result)
        r = conn.edit_config(config=f'<config><link-state xmlns="{NS}"><groups><group><id>x</id></group>'
                             f"</groups></link-state></config>", target="running")
        assert r.failed
        assert "<error-tag>invalid-value</error-tag>" in r.result
        assert "<error-path>/tether-link-state:link-state/groups/group/id</error-path>" in r.result, r.result
        assert without_message_id(conn.get_config(source="running").result) == before

        # An element the schema does not have.
        r = conn.edit_config(config=f'<config><link-state xmlns="{NS}"><colour>red</colour></link-state></config>',
                             target="running")
        assert r.failed and "unknown-element" in r.result, r.result

        # Candidate edits thrown away with discard-changes.
        assert not conn.edit_config(config=f"<config>{group_data(11, 'discarded')}</config>", target="candidate").failed
        assert not conn.discard().failed
        assert 11 not in group_ids(conn.get_config(source="candidate").result)

        # Subtree filter on state.
        eventually(lambda: conn.get(filter_=f'<link-state xmlns="{NS}"><groups><group><id>9</id><state><status/>'
                                    f"</state></group></groups></link-state>", filter_type="subtree").result,
                   lambda out: "<status>up</status>" in out)
    finally:
        conn.close()


def test_scrapli_lock_blocks_netconf_console2(tetherd, tmp_path):
    conn = scrapli(tetherd)
    try:
        assert not conn.lock(target="running").failed
        data = tmp_path / "g.xml"
        data.write_text(group_data(12, "blocked"))
        r = ncc(tetherd, "--db", "running", "--edit-config", str(data), check=False)
        assert "<error-tag>in-use</error-tag>" in r.stdout or "lock-denied" in r.stdout, r.stdout
        assert not conn.unlock(target="running").failed
        ncc(tetherd, "--db", "running", "--edit-config", str(data))
    finally:
        conn.close()


@pytest.mark.parametrize("pusher", ["netconf-console2", "scrapli"])
def test_reference_pushed_by_one_client_reads_back_everywhere(tetherd, reference, tmp_path, pusher):
    body = "".join(to_xml(v, k.split(":")[1], "urn:tether:yang:" + k.split(":")[0]) for k, v in reference.items())
    if pusher == "netconf-console2":
        # One top-level element per file (netconf-console2 wraps the file's root in <config>).
        for k, v in reference.items():
            f = tmp_path / f"{k.split(':')[1]}.xml"
            f.write_text(to_xml(v, k.split(":")[1], "urn:tether:yang:" + k.split(":")[0]))
            ncc(tetherd, "--db", "candidate", "--edit-config", str(f))
        ncc(tetherd, "--commit")
        conn = scrapli(tetherd)
        try:
            read = conn.get_config(source="running").result
        finally:
            conn.close()
    else:
        conn = scrapli(tetherd)
        try:
            r = conn.edit_config(config=f"<config>{body}</config>", target="running")
            assert not r.failed, r.result[:2000]
        finally:
            conn.close()
        read = ncc(tetherd, "--get-config").stdout
    want = {g["id"] for g in reference["tether-link-state:link-state"]["groups"]["group"]}
    assert group_ids(read) >= want
    assert f'<bypass xmlns="{BYP}">' in read
    with gNMIclient(target=(tetherd.host, tetherd.port), insecure=True) as gc:
        got = gc.get(path=["/"], datatype="config", encoding="json_ietf")["notification"][0]["update"][0]["val"]
    for k, v in reference.items():
        assert normalize(got[k]) == normalize(v), k
