"""gNMI path conventions through pygnmi against a real tetherd (issue 16).

- A list element without keys names every entry, in state paths as in config
  (gnmi-path-conventions.md: an omitted key is a wildcard).
"""

from __future__ import annotations

import time

from pygnmi.client import gNMIclient

OPER = "/interfaces/interface/state/oper-status"
CARRIERS = {"Po11": True, "Gi1/1": True, "Gi1/2": False}


def client(d) -> gNMIclient:
    return gNMIclient(target=(d.host, d.port), insecure=True)


def carrier(name: str) -> str:
    return f"/interfaces/interface[name={name}]/simulation/config/carrier"


def make_interfaces(gc: gNMIclient) -> None:
    gc.set(update=[(carrier(n), up) for n, up in CARRIERS.items()], encoding="json_ietf")


def oper_by_name(notifications: list) -> dict:
    """{interface name: oper-status} from pygnmi's parsed notifications."""
    out = {}
    for n in notifications:
        for u in n.get("update", []):
            p = u["path"]
            assert p.endswith("state/oper-status"), p
            name = p.split("[name=", 1)[1].split("]", 1)[0]
            out[name] = u["val"]
    return out


def get_oper(gc: gNMIclient, path: str = OPER) -> dict:
    r = gc.get(path=[path], datatype="state", encoding="json_ietf")
    return oper_by_name(r["notification"])


def wait_for(fn, want, timeout=10.0):
    deadline = time.time() + timeout
    while True:
        got = fn()
        if got == want or time.time() > deadline:
            return got
        time.sleep(0.1)


def test_get_a_state_leaf_of_every_entry_by_omitting_keys(tetherd):
    want = {"Po11": "up", "Gi1/1": "up", "Gi1/2": "lower-layer-down"}
    with client(tetherd) as gc:
        make_interfaces(gc)
        assert wait_for(lambda: get_oper(gc), want) == want
        # The same as the explicit wildcard.
        assert get_oper(gc, "/interfaces/interface[name=*]/state/oper-status") == want
        # And in config, as before.
        r = gc.get(path=["/interfaces/interface/simulation/config/carrier"], datatype="config", encoding="json_ietf")
        vals = {u["path"].split("[name=", 1)[1].split("]", 1)[0]: u["val"] for u in r["notification"][0]["update"]}
        assert vals == CARRIERS


def test_subscribe_to_a_state_leaf_of_every_entry(tetherd):
    want = {"Po11": "up", "Gi1/1": "up", "Gi1/2": "lower-layer-down"}
    with client(tetherd) as gc:
        make_interfaces(gc)
        assert wait_for(lambda: get_oper(gc), want) == want
        once = gc.subscribe2(subscribe={"mode": "once", "encoding": "json_ietf", "subscription": [{"path": OPER}]})
        msgs = [m for m in once]
        assert msgs[-1].get("sync_response") is True, msgs
        assert oper_by_name([m["update"] for m in msgs[:-1]]) == want

        stream = gc.subscribe2(
            subscribe={"mode": "stream", "encoding": "json_ietf",
                       "subscription": [{"path": OPER, "mode": "on_change"}]}
        )
        try:
            initial = stream.get_update(timeout=10)  # coalesced up to sync_response
            assert initial.get("sync_response") is True, initial
            gc.set(update=[(carrier("Gi1/2"), True)], encoding="json_ietf")
            deadline = time.time() + 10
            seen = {}
            while seen.get("Gi1/2") != "up":
                assert time.time() < deadline, seen
                m = stream.get_update(timeout=10)
                if "update" in m:
                    seen.update(oper_by_name([m["update"]]))
        finally:
            stream.close()
