"""NETCONF over SSH (issue 15) against a real tetherd with ncclient: hello, get/get-config,
edit-config to running and candidate, commit, discard, locks across sessions and with gNMI,
kill-session, rpc-errors, and the reference configuration pushed over NETCONF and read back
over gNMI."""

from __future__ import annotations

import re
import time

import grpc
import pytest
from ncclient import manager
from ncclient.xml_ import to_ele
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


def test_clear_action_over_netconf_and_tetherctl(tetherd):
    """Manual recovery (issue 20): a group with auto-recover false holds its downstreams after it
    comes up; the YANG action `clear` over NETCONF releases them, and `tetherctl clear
    link-state group N` (the admin service, for gNMI users) does the same."""
    from test_tetherctl import ctl, carriers

    ifaces = ["u", "d1", "d2"]
    members = lambda names: {"interfaces": {"interface": [{"name": n, "config": {"name": n}} for n in names]}}
    with gNMIclient(target=(tetherd.host, tetherd.port), insecure=True) as gc:
        gc.set(update=[("/tether-interfaces:interfaces", {"interface": [
            {"name": n, "config": {"name": n}, "simulation": {"config": {"carrier": True}}} for n in ifaces]}),
            ("/tether-link-state:link-state/groups/group[id=7]", {
                "id": 7, "config": {"id": 7, "auto-recover": False},
                "upstream": members(["u"]), "downstream": members(["d1", "d2"])})],
            encoding="json_ietf")

        def held() -> set[str]:
            out = set()
            for n in ("d1", "d2"):
                s = gc.get(path=[f"/tether-interfaces:interfaces/interface[name={n}]/state/disabled-by"],
                           datatype="state", encoding="json_ietf")
                if "link-state-group" in str(s):
                    out.add(n)
            return out

        def until(want: set[str]) -> None:
            deadline = time.monotonic() + 10
            while held() != want:
                assert time.monotonic() < deadline, held()
                time.sleep(0.05)

        def cycle() -> None:
            carriers(tetherd, ["u"], up=False)
            until({"d1", "d2"})
            carriers(tetherd, ["u"], up=True)
            time.sleep(0.3)
            assert held() == {"d1", "d2"}, "manual recovery holds after the group is up"

        action = lambda gid: to_ele(
            f'<action xmlns="urn:ietf:params:xml:ns:yang:1"><link-state xmlns="{NS}"><groups><group>'
            f'<id>{gid}</id><clear/></group></groups></link-state></action>')
        cycle()
        with connect(tetherd) as m:
            reply = m.dispatch(action(7))
            assert re.findall(r"<(?:\w+:)?enabled[^>]*>([^<]+)<", reply.xml) == ["d1", "d2"], reply.xml
            until(set())
            # Nothing left: <ok/>. A group that does not exist: data-missing, with its path.
            assert "<ok" in m.dispatch(action(7)).xml
            with pytest.raises(RPCError) as e:
                m.dispatch(action(99))
            assert e.value.tag == "data-missing", e.value
            assert "group[id='99']" in (e.value.path or ""), e.value.path
            with pytest.raises(RPCError) as e:
                m.dispatch(action(0))
            assert e.value.tag == "invalid-value"

        cycle()
        assert "re-enabled d1, d2" in ctl(tetherd, "clear", "link-state", "group", "7")
        until(set())
        assert "nothing to clear" in ctl(tetherd, "clear", "link-state", "group", "7")
