"""NETCONF over SSH (issue 15) against a real tetherd with ncclient: hello, get/get-config,
edit-config to running and candidate, commit, discard, locks across sessions and with gNMI,
kill-session, rpc-errors, and the reference configuration pushed over NETCONF and read back
over gNMI."""

from __future__ import annotations

import re

import grpc
import pytest
from ncclient import manager
from ncclient.operations.rpc import RPCError
from pygnmi.client import gNMIclient, gNMIException

from conftest import normalize
from test_pygnmi import grpc_error

NS = "urn:tether:yang:tether-link-state"


def netconf_port(d) -> int:
    return int(d.wait_for_log(r"NETCONF over SSH serving on \S+:(\d+)").group(1))


def connect(d, user="admin", password="x"):
    return manager.connect(
        host="127.0.0.1", port=netconf_port(d), username=user, password=password,
        hostkey_verify=False, allow_agent=False, look_for_keys=False, timeout=30,
    )


def group(gid: int, desc: str, op: str = "") -> str:
    attr = f' xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" nc:operation="{op}"' if op else ""
    return (f'<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><link-state xmlns="{NS}"><groups>'
            f'<group{attr}><id>{gid}</id><config><id>{gid}</id><description>{desc}</description></config>'
            f'</group></groups></link-state></config>')


def groups(m, source="running") -> set[int]:
    xml = m.get_config(source=source).data_xml
    return {int(x) for x in re.findall(r"<group>\s*<id>(\d+)</id>", xml)}


def to_xml(value, name: str, ns: str | None = None) -> str:
    """RFC 7951 JSON to NETCONF XML (the reference fixture has no identityrefs)."""
    open_tag = f'<{name} xmlns="{ns}">' if ns else f"<{name}>"
    if isinstance(value, list):
        return "".join(to_xml(v, name, ns) for v in value)
    if isinstance(value, dict):
        return open_tag + "".join(to_xml(v, k.split(":")[-1]) for k, v in value.items()) + f"</{name}>"
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return f"{open_tag}{text}</{name}>"


def test_hello_and_capabilities(tetherd):
    with connect(tetherd) as m:
        caps = list(m.server_capabilities)
        assert "urn:ietf:params:netconf:base:1.1" in caps
        assert "urn:ietf:params:netconf:capability:candidate:1.0" in caps
        assert any(c.startswith(NS + "?module=tether-link-state&revision=") for c in caps)
        assert m.session_id


def test_edit_running_get_and_filters(tetherd):
    with connect(tetherd) as m:
        m.edit_config(target="running", config=group(7, "seven"))
        m.edit_config(target="running", config=group(8, "eight"))
        assert groups(m) == {7, 8}
        flt = f'<link-state xmlns="{NS}"><groups><group><id>8</id></group></groups></link-state>'
        got = m.get_config(source="running", filter=("subtree", flt)).data_xml
        assert "eight" in got and "seven" not in got
        got = m.get(filter=("xpath", (({"t": NS}), "/t:link-state/t:groups/t:group[t:id='7']"))).data_xml
        assert "seven" in got and "eight" not in got
        # with-defaults: report-all shows min-upstream-up's default, trim does not.
        assert "min-upstream-up" in m.get_config(source="running", with_defaults="report-all").data_xml
        assert "min-upstream-up" not in m.get_config(source="running", with_defaults="trim").data_xml
        m.edit_config(target="running", config=group(7, "", op="delete"))
        assert groups(m) == {8}


def test_refused_edits_leave_no_trace(tetherd):
    with connect(tetherd) as m:
        m.edit_config(target="running", config=group(1, "one"))
        before = m.get_config(source="running").data_xml
        bad = [
            group(2, "two").replace("<config><id>2</id>", "<config><id>3</id>"),  # broken leafref
            group(5000, "out of range"),  # id outside 1..4096
            group(1, "x").replace("<description>", "<no-such-leaf>1</no-such-leaf><description>"),
            group(1, "x").replace(NS, "urn:nobody"),
            group(9, "", op="delete"),  # delete of what is absent
            group(1, "dup", op="create"),  # create of what exists
        ]
        tags = []
        for cfg in bad:
            with pytest.raises(RPCError) as e:
                m.edit_config(target="running", config=cfg)
            tags.append(e.value.tag)
            assert e.value.severity == "error"
            assert len(e.value.message or "") <= 1100
        assert tags[0] == "data-missing" and tags[4] == "data-missing" and tags[5] == "data-exists"
        assert tags[2] == "unknown-element" and tags[3] == "unknown-namespace"
        assert m.get_config(source="running").data_xml == before


def test_candidate_commit_and_discard(tetherd):
    with connect(tetherd) as m:
        m.edit_config(target="candidate", config=group(3, "three"))
        assert groups(m, "candidate") == {3} and groups(m) == set()
        m.discard_changes()
        assert groups(m, "candidate") == set()
        m.edit_config(target="candidate", config=group(4, "four"))
        m.commit()
        assert groups(m) == {4}


def test_locks_between_sessions_and_gnmi(tetherd):
    a, b = connect(tetherd), connect(tetherd)
    try:
        a.lock("running")
        with pytest.raises(RPCError) as e:
            b.lock("running")
        assert e.value.tag == "lock-denied"
        with pytest.raises(RPCError) as e:
            b.edit_config(target="running", config=group(5, "b"))
        assert e.value.tag == "lock-denied"
        with gNMIclient(target=(tetherd.host, tetherd.port), insecure=True) as gc:
            with pytest.raises(gNMIException) as ge:
                gc.set(update=[("/tether-link-state:link-state/groups/group[id=6]/config",
                                {"id": 6, "description": "g"})], encoding="json_ietf")
            assert grpc_error(ge.value).code() == grpc.StatusCode.FAILED_PRECONDITION
            assert f"NETCONF session {a.session_id}" in str(ge.value)
        a.edit_config(target="running", config=group(5, "a"))
        # The lock dies with its session: kill it from b, then b may lock.
        b.kill_session(a.session_id)
        b.lock("running")
        b.unlock("running")
    finally:
        b.close_session()


def test_reference_over_netconf_reads_back_over_gnmi(tetherd, reference):
    body = "".join(to_xml(v, k.split(":")[1], "urn:tether:yang:" + k.split(":")[0]) for k, v in reference.items())
    with connect(tetherd) as m:
        m.edit_config(target="running", config=f'<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">{body}</config>')
    with gNMIclient(target=(tetherd.host, tetherd.port), insecure=True) as gc:
        got = gc.get(path=["/"], datatype="config", encoding="json_ietf")["notification"][0]["update"][0]["val"]
        gc.set(update=[(f"/{k}", v) for k, v in reference.items()], encoding="json_ietf")
        again = gc.get(path=["/"], datatype="config", encoding="json_ietf")["notification"][0]["update"][0]["val"]
    assert normalize(got) == normalize(again)
    with connect(tetherd) as m:
        assert len(groups(m)) == len(reference["tether-link-state:link-state"]["groups"]["group"])
