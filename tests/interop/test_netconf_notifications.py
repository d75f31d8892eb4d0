"""RFC 5277 create-subscription and RFC 6470 netconf-config-change against a real tetherd with
ncclient: one notification per commit, whichever northbound made it (NETCONF edit-config,
gNMI Set, a confirmed commit's revert), with who made it and which leaves changed."""

from __future__ import annotations

import pytest
from ncclient.operations.rpc import RPCError
from pygnmi.client import gNMIclient

from test_netconf import connect, group

NOTIF = "urn:ietf:params:netconf:capability:notification:1.0"


def next_change(m) -> str:
    n = m.take_notification(block=True, timeout=15)
    assert n is not None, "no notification within 15 s"
    xml = n.notification_xml
    assert "netconf-config-change" in xml and "<datastore>running</datastore>" in xml, xml
    return xml


def test_every_commit_is_notified_whichever_northbound(tetherd):
    with connect(tetherd) as m, connect(tetherd) as other:
        assert NOTIF in m.server_capabilities
        m.create_subscription()
        with pytest.raises(RPCError) as e:
            m.create_subscription()  # one subscription per session
        assert e.value.tag == "operation-failed"

        other.edit_config(target="running", config=group(5, "five"))
        xml = next_change(m)
        assert f"<session-id>{other.session_id}</session-id>" in xml, xml
        assert "<username>admin</username>" in xml, xml
        assert "tether-link-state:group[tether-link-state:id=&apos;5&apos;]" in xml, xml
        assert "<operation>create</operation>" in xml, xml

        with gNMIclient(target=(tetherd.host, tetherd.port), insecure=True) as gc:
            gc.set(update=[("/tether-link-state:link-state/groups/group[id=5]/config",
                            {"description": "by gnmi"})], encoding="json_ietf")
        xml = next_change(m)
        assert "<session-id>0</session-id>" in xml, xml
        assert "tether-link-state:description</target><operation>replace</operation>" in xml, xml

        # A confirmed commit's timeout revert is the server's own change.
        other.edit_config(target="candidate", config=group(6, "trial"))
        other.commit(confirmed=True, timeout="1")
        next_change(m)
        xml = next_change(m)
        assert "<changed-by><server/></changed-by>" in xml, xml
        assert "<operation>delete</operation>" in xml, xml
        # rpcs keep working on the subscribed session (:interleave).
        assert "five" not in m.get_config(source="running").data_xml


def test_unsupported_subscription_parameters_are_refused(tetherd):
    with connect(tetherd) as m:
        with pytest.raises(RPCError) as e:
            m.create_subscription(start_time="2026-01-01T00:00:00Z")
        assert e.value.tag == "operation-not-supported"
        with pytest.raises(RPCError) as e:
            m.create_subscription(stream_name="OTHER")
        assert e.value.tag == "invalid-value"
