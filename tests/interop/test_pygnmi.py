"""pygnmi (a stock Python gNMI client) against a real tetherd.

pygnmi's habits (DESIGN.md §1): Capabilities first, then it picks `json` when advertised; paths
with the module name as `origin` (`tether-link-state:/link-state/...`); an empty prefix and a qos
marking on Subscribe; a string value sent as raw bytes without JSON quotes.
"""

from __future__ import annotations

import time

import grpc
import pytest
from pygnmi.client import gNMIclient, gNMIException

from conftest import MODULES, normalize

LS = "tether-link-state:/link-state"
BYP = "tether-conntrack-bypass:/bypass"
GROUP1 = LS + "/groups/group[id=1]"


def client(d, **kw) -> gNMIclient:
    return gNMIclient(target=(d.host, d.port), insecure=True, **kw)


def get_val(gc: gNMIclient, path: str, encoding: str = "json_ietf", datatype: str = "config"):
    r = gc.get(path=[path], datatype=datatype, encoding=encoding)
    assert len(r["notification"]) == 1, r
    n = r["notification"][0]
    assert n["timestamp"] > 1_500_000_000 * 10**9, "timestamps are in nanoseconds"
    assert len(n["update"]) == 1, n
    return n["update"][0]["val"]


def whole_config(gc: gNMIclient):
    return normalize(get_val(gc, "/"))


def load_reference(gc: gNMIclient, ref: dict, encoding: str = "json_ietf"):
    return gc.set(
        update=[
            (LS, ref["tether-link-state:link-state"]),
            (BYP, ref["tether-conntrack-bypass:bypass"]),
        ],
        encoding=encoding,
    )


def grpc_error(exc: gNMIException) -> grpc.RpcError:
    err = exc.orig_exc
    assert isinstance(err, grpc.RpcError), repr(exc)
    return err


# ---- Capabilities ----------------------------------------------------------------------------


def test_capabilities(tetherd):
    with client(tetherd) as gc:
        caps = gc.capabilities()
    models = {m["name"]: m for m in caps["supported_models"]}
    assert MODULES <= set(models), caps
    for name in MODULES:
        assert models[name]["organization"], models[name]
        assert models[name]["version"], models[name]  # the YANG revision
    assert {"json", "json_ietf"} <= set(caps["supported_encodings"])
    assert caps["gnmi_version"] == "0.10.0"


def test_tls_with_path_cert(tetherd_tls, tls_files):
    d = tetherd_tls
    with gNMIclient(target=(d.host, d.port), path_cert=str(tls_files["cert"])) as gc:
        caps = gc.capabilities()
        assert MODULES <= {m["name"] for m in caps["supported_models"]}
        gc.set(update=[(GROUP1 + "/config", {"id": 1, "description": "over TLS"})], encoding="json_ietf")
        assert get_val(gc, GROUP1 + "/config/description") == "over TLS"


def test_plaintext_client_refused_by_tls_server(tetherd_tls):
    d = tetherd_tls
    with pytest.raises(grpc.FutureTimeoutError):
        with gNMIclient(target=(d.host, d.port), insecure=True, gnmi_timeout=2):
            pass


# ---- Set / Get -------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["json_ietf", "json"])
def test_set_update_then_get_identical(tetherd, reference, encoding):
    with client(tetherd) as gc:
        r = load_reference(gc, reference, encoding)
        assert [u["op"] for u in r["response"]] == ["UPDATE", "UPDATE"], r
        assert r["timestamp"] > 0
        # each module, by the three path spellings of DESIGN.md §1
        for path in (LS, "/tether-link-state:link-state", "/link-state"):
            assert normalize(get_val(gc, path)) == normalize(reference["tether-link-state:link-state"]), path
        for path in (BYP, "/tether-conntrack-bypass:bypass", "/bypass"):
            assert normalize(get_val(gc, path)) == normalize(reference["tether-conntrack-bypass:bypass"]), path
        # and the whole datastore, module-qualified at the top
        assert whole_config(gc) == normalize(reference)
        # 40 downstream interfaces, as in the reference scenario
        down = get_val(gc, GROUP1 + "/downstream/interfaces")
        assert sorted(i["name"] for i in down["interface"]) == sorted(f"Gi1/{i}" for i in range(1, 41))


def test_set_replace_replaces_only_that_subtree(tetherd, reference):
    with client(tetherd) as gc:
        load_reference(gc, reference)
        twenty = {"interface": [{"name": f"Gi1/{i}", "config": {"name": f"Gi1/{i}"}} for i in range(1, 21)]}
        r = gc.set(replace=[(GROUP1 + "/downstream/interfaces", twenty)], encoding="json_ietf")
        assert [u["op"] for u in r["response"]] == ["REPLACE"], r
        got = get_val(gc, GROUP1 + "/downstream/interfaces")
        assert normalize(got) == normalize(twenty)
        # everything else is untouched
        expected = reference
        expected["tether-link-state:link-state"]["groups"]["group"][0]["downstream"]["interfaces"] = twenty
        assert whole_config(gc) == normalize(expected)
        # replace of a whole module with the reference puts the 40 back
        gc.set(replace=[(LS, reference["tether-link-state:link-state"])], encoding="json_ietf")


def test_set_replace_module_roundtrip(tetherd, reference):
    with client(tetherd) as gc:
        load_reference(gc, reference)
        gc.set(update=[(GROUP1 + "/config", {"id": 1, "description": "to be replaced away"})], encoding="json_ietf")
        r = gc.set(
            replace=[(LS, reference["tether-link-state:link-state"]), (BYP, reference["tether-conntrack-bypass:bypass"])],
            encoding="json_ietf",
        )
        assert [u["op"] for u in r["response"]] == ["REPLACE", "REPLACE"], r
        assert whole_config(gc) == normalize(reference)


def test_set_delete(tetherd, reference):
    with client(tetherd) as gc:
        load_reference(gc, reference)
        r = gc.set(
            delete=[
                GROUP1 + "/downstream/interfaces/interface[name=Gi1/40]",
                BYP + "/service-policies/service-policy[interface=MPLS]",
            ]
        )
        assert [u["op"] for u in r["response"]] == ["DELETE", "DELETE"], r
        expected = reference
        ds = expected["tether-link-state:link-state"]["groups"]["group"][0]["downstream"]["interfaces"]
        ds["interface"] = [i for i in ds["interface"] if i["name"] != "Gi1/40"]
        sps = expected["tether-conntrack-bypass:bypass"]["service-policies"]
        sps["service-policy"] = [s for s in sps["service-policy"] if s["interface"] != "MPLS"]
        assert whole_config(gc) == normalize(expected)
        # a delete of an absent path succeeds and changes nothing
        gc.set(delete=[GROUP1 + "/downstream/interfaces/interface[name=Gi1/40]"])
        assert whole_config(gc) == normalize(expected)
        # delete both modules: the datastore is empty
        gc.set(delete=[LS, BYP])
        assert get_val(gc, "/") in ({}, None)


def test_delete_replace_update_in_one_set(tetherd, reference):
    """Spec 3.4.3: deletes, then replaces, then updates, as one transaction."""
    with client(tetherd) as gc:
        load_reference(gc, reference)
        r = gc.set(
            delete=[GROUP1],
            replace=[(GROUP1 + "/config", {"id": 1, "description": "re-created"})],
            update=[(GROUP1 + "/upstream/interfaces/interface[name=Po11]/config", {"name": "Po11"})],
            encoding="json_ietf",
        )
        assert [u["op"] for u in r["response"]] == ["DELETE", "REPLACE", "UPDATE"], r
        got = get_val(gc, GROUP1)
        assert normalize(got) == normalize(
            {
                "id": 1,
                "config": {"id": 1, "description": "re-created"},
                "upstream": {"interfaces": {"interface": [{"name": "Po11", "config": {"name": "Po11"}}]}},
            }
        )


def test_bare_scalars(tetherd, reference):
    """pygnmi sends a str as raw bytes (no JSON quotes), other values as JSON."""
    with client(tetherd) as gc:
        load_reference(gc, reference)
        gc.set(
            update=[
                (GROUP1 + "/config/description", "TOR uplinks"),  # bare string: b'TOR uplinks'
                (GROUP1 + "/config/up-delay", 30),  # b'30'
                (GROUP1 + "/config/enabled", False),  # b'false'
                (BYP + "/access-lists/access-list[name=StatelessTraffic]/entries/entry[sequence=10]/config/remark",
                 "Outbound  Traffic, now with spaces"),
            ],
            encoding="json_ietf",
        )
        cfg = get_val(gc, GROUP1 + "/config")
        assert cfg == {"id": 1, "description": "TOR uplinks", "up-delay": 30, "enabled": False}
        # the same with pygnmi's default encoding (json)
        gc.set(update=[(GROUP1 + "/config/description", "TOR uplinks, json")])
        assert get_val(gc, GROUP1 + "/config/description", encoding="json") == "TOR uplinks, json"


# ---- bad input -------------------------------------------------------------------------------

BAD = [
    pytest.param(GROUP1 + "/config/up-delay", 3601, "up-delay", id="range"),
    pytest.param(BYP + "/policies/policy[name=Inside-policy]/classes/class[name=tcp_bypass]/config/idle-timeout",
                 0, "idle-timeout", id="idle-timeout-0"),
    pytest.param(BYP + "/access-lists/access-list[name=StatelessTraffic]/entries/entry[sequence=10]/config/protocol",
                 "tcpp", "protocol", id="enum"),
    pytest.param(BYP + "/classes/class[name=tcp_bypass]/config/match-access-list", "NoSuchAcl",
                 "match-access-list", id="leafref"),
    pytest.param(LS + "/groups/group[id=2]/downstream/interfaces/interface[name=Po11]/config", {"name": "Po11"},
                 "Po11", id="interface-upstream-and-downstream"),
    pytest.param(GROUP1 + "/config", {"threshold-type": "percentage", "threshold-down": 50, "threshold-up": 101},
                 "threshold-up", id="percentage-above-100"),
    pytest.param(GROUP1 + "/config", {"threshold-down": 3, "threshold-up": 2},
                 "threshold-down", id="threshold-down-above-up"),
    pytest.param(GROUP1 + "/config/no-such-leaf", 1, "no-such-leaf", id="unknown-leaf"),
]


@pytest.mark.parametrize("path,value,needle", BAD)
def test_bad_input_invalid_argument_and_nothing_changes(tetherd, reference, path, value, needle):
    with client(tetherd) as gc:
        load_reference(gc, reference)
        before = whole_config(gc)
        with pytest.raises(gNMIException) as ei:
            # a good update alongside the bad one: all or nothing
            gc.set(
                update=[(GROUP1 + "/config/description", "must not stick"), (path, value)],
                encoding="json_ietf",
            )
        err = grpc_error(ei.value)
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, (err.code(), err.details())
        assert needle in err.details(), err.details()
        assert whole_config(gc) == before


# ---- Subscribe -------------------------------------------------------------------------------


def flat_updates(msg: dict) -> dict:
    """pygnmi's parsed notification: {path: val} of its updates."""
    return {u["path"]: u.get("val") for u in msg.get("update", {}).get("update", [])}


def test_subscribe_once(tetherd, reference):
    with client(tetherd) as gc:
        load_reference(gc, reference)
        sub = gc.subscribe2(
            subscribe={"mode": "once", "encoding": "json_ietf",
                       "subscription": [{"path": GROUP1 + "/config"}, {"path": GROUP1 + "/upstream"}]}
        )
        msgs = []
        deadline = time.time() + 10
        for m in sub:  # OnceSubscriber stops after sync_response
            msgs.append(m)
            assert time.time() < deadline
        assert msgs and msgs[-1].get("sync_response") is True, msgs
        vals = {}
        for m in msgs[:-1]:
            vals.update(flat_updates(m))
        assert vals, msgs
        assert any(v == 1 or (isinstance(v, dict) and v.get("id") == 1) or "Po11" in str(v) for v in vals.values()), vals
        # the server ends the RPC after sync_response: the receiving thread finishes
        sub._subscribe_thread.join(5)
        assert not sub._subscribe_thread.is_alive(), "ONCE stream not closed by the target after sync_response"
        assert sub.error is None, sub.error


def test_subscribe_poll(tetherd, reference):
    with client(tetherd) as gc:
        load_reference(gc, reference)
        sub = gc.subscribe2(
            subscribe={"mode": "poll", "encoding": "json_ietf", "subscription": [{"path": GROUP1 + "/config"}]}
        )
        try:
            # PollSubscriber.get_update() sends a Poll *before* reading up to the next
            # sync_response, so calling it for the initial data would leave the answer to an
            # early Poll queued ahead of the one we want: read the initial data without polling.
            first = sub._get_updates_till_sync(timeout=10)
            assert first.get("sync_response") is True, first
            assert "'val': 1" in str(first), first
            gc.set(update=[(GROUP1 + "/config/description", "polled")], encoding="json_ietf")
            second = sub.get_update(timeout=10)  # sends Poll, reads up to sync_response
            assert second.get("sync_response") is True, second
            assert "polled" in str(second), second
        finally:
            sub.close()


def test_subscribe_stream_on_change(tetherd, reference):
    with client(tetherd) as gc:
        load_reference(gc, reference)
        sub = gc.subscribe2(
            subscribe={"mode": "stream", "encoding": "json_ietf",
                       "subscription": [{"path": GROUP1 + "/config", "mode": "on_change"},
                                        {"path": GROUP1 + "/downstream/interfaces", "mode": "on_change"}]}
        )
        try:
            initial = sub.get_update(timeout=10)  # coalesced up to sync_response
            assert initial.get("sync_response") is True, initial
            assert "Gi1/40" in str(initial), initial
            t0 = time.time()
            gc.set(update=[(GROUP1 + "/config/description", "changed during the stream")], encoding="json_ietf")
            seen = ""
            while "changed during the stream" not in seen:
                seen += str(sub.get_update(timeout=max(0.1, 5 - (time.time() - t0))))
            # a delete arrives as a delete path
            gc.set(delete=[GROUP1 + "/downstream/interfaces/interface[name=Gi1/7]"])
            seen = ""
            while "Gi1/7" not in seen:
                m = sub.get_update(timeout=max(0.1, 10 - (time.time() - t0)))
                seen += str(m.get("update", {}).get("delete", ""))
            # (the config leaves and the interface's state may go in separate notifications)
            drain_deadline = time.time() + 5
            while time.time() < drain_deadline:
                try:
                    sub.get_update(timeout=0.5)
                except TimeoutError:
                    break
            # nothing is said about paths outside the subscription
            gc.set(update=[(BYP + "/access-lists/access-list[name=StatelessTraffic]/config/description", "x")],
                   encoding="json_ietf")
            with pytest.raises(TimeoutError):
                extra = sub.get_update(timeout=1)
                print("unexpected", extra)
        finally:
            sub.close()


def test_subscribe_stream_sample(tetherd, reference):
    with client(tetherd) as gc:
        load_reference(gc, reference)
        sub = gc.subscribe2(
            subscribe={"mode": "stream", "encoding": "json_ietf",
                       "subscription": [{"path": GROUP1 + "/config", "mode": "sample",
                                         "sample_interval": 200_000_000}]}
        )
        try:
            initial = sub.get_update(timeout=10)
            assert initial.get("sync_response") is True, initial
            stamps = []
            t0 = time.time()
            while len(stamps) < 4:
                m = sub.get_update(timeout=5)
                if "update" in m:
                    assert flat_updates(m), m
                    stamps.append(m["update"]["timestamp"])
            elapsed = time.time() - t0
            # four samples at 200 ms take roughly 0.6-0.8 s: not a burst, not stalled
            assert 0.4 < elapsed < 4, elapsed
            assert stamps == sorted(stamps)
            gc.set(update=[(GROUP1 + "/config/description", "sampled")], encoding="json_ietf")
            seen = ""
            t0 = time.time()
            while "sampled" not in seen:
                assert time.time() - t0 < 5
                seen += str(sub.get_update(timeout=5))
        finally:
            sub.close()


@pytest.mark.parametrize("mode", ["once", "poll", "stream"])
def test_subscribe_leaf_values_are_typed(tetherd, reference, mode):
    """Every update of a subscription to a config container carries a value of the leaf's type
    (RFC 7951); leaves that were never set either carry their default or are left out."""
    with client(tetherd) as gc:
        load_reference(gc, reference)
        sub_req = {"mode": mode, "encoding": "json_ietf", "subscription": [{"path": GROUP1 + "/config"}]}
        if mode == "stream":
            sub_req["subscription"][0]["mode"] = "on_change"
        sub = gc.subscribe2(subscribe=sub_req)
        try:
            msg = sub._get_updates_till_sync(timeout=10)
        finally:
            sub.close()
        vals = flat_updates(msg)
        assert vals, msg
        allowed = {"id": (int,), "enabled": (bool,), "min-upstream-up": (int,), "up-delay": (int,),
                   "down-delay": (int,), "description": (str,), "threshold-type": (str,),
                   "threshold-down": (int,), "threshold-up": (int,), "downstream-disable-links": (int,),
                   "auto-recover": (bool,)}
        for path, val in vals.items():
            leaf = path.rsplit("/", 1)[-1]
            assert isinstance(val, allowed[leaf]) and not isinstance(val, dict), f"{path} = {val!r}"
