"""gNMI path conventions through pygnmi against a real tetherd (issue 16).

- A list element without keys names every entry, in state paths as in config
  (gnmi-path-conventions.md: an omitted key is a wildcard).
- A path that names no schema node is INVALID_ARGUMENT, a module that is not served
  UNIMPLEMENTED, absent data NOT_FOUND; a key value that is not of the key's type is
  INVALID_ARGUMENT in Get, Set and delete, and changes nothing.
- Origins: none, or a module name (pygnmi's habit), resolve; any other is refused by name.
"""

from __future__ import annotations

import time

import grpc
import pytest
from pygnmi.client import gNMIclient, gNMIException

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


# ---- what a path names: schema errors, absent data, bad keys -----------------------------------

LS = "/link-state"
GROUP1 = LS + "/groups/group[id=1]"


def status(exc: gNMIException) -> tuple:
    err = exc.orig_exc
    assert isinstance(err, grpc.RpcError), repr(exc)
    return err.code(), err.details()


def get_status(gc: gNMIclient, path: str) -> tuple:
    with pytest.raises(gNMIException) as ei:
        gc.get(path=[path], datatype="config", encoding="json_ietf")
    return status(ei.value)


def test_schema_errors_absent_data_and_modules_not_served(tetherd):
    with client(tetherd) as gc:
        gc.set(update=[(GROUP1 + "/config", {"id": 1})], encoding="json_ietf")
        code, details = get_status(gc, LS + "/nothing")
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "nothing" in details, details
        code, details = get_status(gc, GROUP1 + "/config/no-such-leaf")
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "no-such-leaf" in details, details
        # pygnmi sends a module prefix as the origin: a module Tether does not serve is an
        # origin it does not know (as a bare element prefix it is UNIMPLEMENTED: gnmi_paths.rs).
        code, details = get_status(gc, "/openconfig-interfaces:interfaces/interface")
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "openconfig-interfaces" in details, details
        # Absent data is NOT_FOUND.
        code, details = get_status(gc, LS + "/groups/group[id=9]")
        assert code == grpc.StatusCode.NOT_FOUND, details
        # (Subscribe answers the same codes: crates/tetherd/tests/it/gnmi_paths.rs.)


@pytest.mark.parametrize("key", ["abc", "-1", "70000", "0"])
def test_invalid_key_values_are_invalid_argument_in_get_set_and_delete(tetherd, key):
    """`id` is a uint16 with range 1..4096: none of these names a possible group."""
    bad = f"{LS}/groups/group[id={key}]"
    with client(tetherd) as gc:
        gc.set(update=[(GROUP1 + "/config", {"id": 1})], encoding="json_ietf")
        before = gc.get(path=["/"], datatype="config", encoding="json_ietf")["notification"][0]["update"]
        code, details = get_status(gc, bad + "/config")
        assert code == grpc.StatusCode.INVALID_ARGUMENT and key in details, details
        with pytest.raises(gNMIException) as ei:
            gc.set(update=[(bad + "/config/description", "never")], encoding="json_ietf")
        code, details = status(ei.value)
        assert code == grpc.StatusCode.INVALID_ARGUMENT and key in details, details
        with pytest.raises(gNMIException) as ei:
            gc.set(delete=[bad])
        code, details = status(ei.value)
        assert code == grpc.StatusCode.INVALID_ARGUMENT and key in details, details
        after = gc.get(path=["/"], datatype="config", encoding="json_ietf")["notification"][0]["update"]
        assert after == before


# ---- origins --------------------------------------------------------------------------------


def test_module_origins_resolve_and_others_are_refused_by_name(tetherd):
    with client(tetherd) as gc:
        gc.set(update=[(GROUP1 + "/config", {"id": 1, "description": "o"})], encoding="json_ietf")
        for spelling in [GROUP1 + "/config/description", "tether-link-state:" + GROUP1 + "/config/description",
                         "/tether-link-state:link-state/groups/group[id=1]/config/description"]:
            r = gc.get(path=[spelling], datatype="config", encoding="json_ietf")
            assert r["notification"][0]["update"][0]["val"] == "o", spelling
        for origin in ["openconfig", "cli", "rfc7951", "made-up"]:
            code, details = get_status(gc, f"{origin}:{GROUP1}/config")
            assert code == grpc.StatusCode.INVALID_ARGUMENT, (origin, details)
            assert f'origin "{origin}"' in details, details
            with pytest.raises(gNMIException) as ei:
                gc.set(update=[(f"{origin}:{GROUP1}/config/description", "never")], encoding="json_ietf")
            assert status(ei.value)[0] == grpc.StatusCode.INVALID_ARGUMENT
        r = gc.get(path=[GROUP1 + "/config/description"], datatype="config", encoding="json_ietf")
        assert r["notification"][0]["update"][0]["val"] == "o"
