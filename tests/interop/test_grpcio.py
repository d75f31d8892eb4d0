"""Raw grpcio against a real tetherd, with stubs generated at test time by grpc_tools.protoc
from this repository's proto/gnmi/gnmi.proto and proto/gnmi_ext/gnmi_ext.proto.

The stubs live in a private descriptor pool because pygnmi, in the same pytest process,
registers its own gnmi 0.8 messages: see tests/tetherlib/stubs.py.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
import time

import grpc
import pytest

from conftest import MODULES, normalize
from tetherlib import paths
from tetherlib import stubs as stubs_mod

@pytest.fixture(scope="session")
def stubs(tmp_path_factory):
    return stubs_mod.generate(tmp_path_factory.mktemp("gnmi_stubs"))


@pytest.fixture
def pb(stubs):
    return stubs[0]


@pytest.fixture
def stub(stubs, tetherd):
    channel = grpc.insecure_channel(tetherd.addr)
    grpc.channel_ready_future(channel).result(timeout=10)
    yield stubs[1].gNMIStub(channel)
    channel.close()


def path(pb, text: str, origin: str = ""):
    """gnmic text (`/a/b[k=v]/c`, keys may contain '/') → gnmi.Path."""
    return paths.path(pb, text, origin)


def jval(pb, value) -> object:
    return pb.TypedValue(json_ietf_val=json.dumps(value).encode())


def load_reference(pb, stub, ref):
    return stub.Set(
        pb.SetRequest(
            update=[
                pb.Update(path=path(pb, "/tether-link-state:link-state"), val=jval(pb, ref["tether-link-state:link-state"])),
                pb.Update(path=path(pb, "/bypass"), val=jval(pb, ref["tether-conntrack-bypass:bypass"])),
            ]
        ),
        timeout=30,
    )


def get_json(pb, stub, p, prefix=None, dtype=None):
    req = pb.GetRequest(path=[p], encoding=pb.JSON_IETF, type=dtype if dtype is not None else pb.GetRequest.CONFIG)
    if prefix is not None:
        req.prefix.CopyFrom(prefix)
    r = stub.Get(req, timeout=10)
    assert len(r.notification) == 1
    n = r.notification[0]
    assert len(n.update) == 1
    return n, json.loads(n.update[0].val.json_ietf_val)


def test_capabilities(pb, stub):
    r = stub.Capabilities(pb.CapabilityRequest(), timeout=10)
    assert MODULES <= {m.name for m in r.supported_models}
    for m in r.supported_models:
        assert m.organization and m.version, m
    assert pb.JSON in r.supported_encodings and pb.JSON_IETF in r.supported_encodings
    assert r.gNMI_version == "0.10.0"


def test_set_get_reference_identical(pb, stub, reference):
    r = load_reference(pb, stub, reference)
    assert [u.op for u in r.response] == [pb.UpdateResult.UPDATE, pb.UpdateResult.UPDATE]
    assert r.timestamp > 1_500_000_000 * 10**9  # nanoseconds
    n, whole = get_json(pb, stub, pb.Path())
    assert normalize(whole) == normalize(reference)
    assert n.timestamp > 1_500_000_000 * 10**9
    # prefix + path are joined; `target` is echoed in the notification's prefix
    prefix = path(pb, "/link-state/groups", origin="tether-link-state")
    prefix.target = "tether-lab"
    n, group = get_json(pb, stub, path(pb, "/group[id=1]/downstream/interfaces"), prefix=prefix)
    assert n.prefix.target == "tether-lab"
    assert sorted(i["name"] for i in group["interface"]) == sorted(f"Gi1/{i}" for i in range(1, 41))


def test_set_replace_delete(pb, stub, reference):
    load_reference(pb, stub, reference)
    acl = "/tether-conntrack-bypass:bypass/access-lists/access-list[name=StatelessTraffic]"
    new_entries = {"entry": [{"sequence": 30, "config": {"sequence": 30, "action": "permit", "protocol": "udp",
                                                          "source-prefix": "198.18.1.0/24", "remark": "udp"}}]}
    r = stub.Set(
        pb.SetRequest(
            delete=[path(pb, "/tether-link-state:link-state/groups/group[id=1]/downstream/interfaces/interface[name=Gi1/1]")],
            replace=[pb.Update(path=path(pb, acl + "/entries"), val=jval(pb, new_entries))],
        ),
        timeout=10,
    )
    assert [u.op for u in r.response] == [pb.UpdateResult.DELETE, pb.UpdateResult.REPLACE]
    _, entries = get_json(pb, stub, path(pb, acl + "/entries"))
    assert normalize(entries) == normalize(new_entries)
    _, down = get_json(pb, stub, path(pb, "/link-state/groups/group[id=1]/downstream/interfaces"))
    assert len(down["interface"]) == 39


def test_get_not_found(pb, stub, reference):
    load_reference(pb, stub, reference)
    with pytest.raises(grpc.RpcError) as ei:
        stub.Get(pb.GetRequest(path=[path(pb, "/link-state/groups/group[id=99]")], encoding=pb.JSON_IETF), timeout=10)
    assert ei.value.code() == grpc.StatusCode.NOT_FOUND, ei.value.details()


def test_set_invalid_argument_names_path(pb, stub, reference):
    load_reference(pb, stub, reference)
    _, before = get_json(pb, stub, pb.Path())
    with pytest.raises(grpc.RpcError) as ei:
        stub.Set(
            pb.SetRequest(update=[pb.Update(path=path(pb, "/link-state/groups/group[id=4097]/config"),
                                            val=jval(pb, {"id": 4097}))]),
            timeout=10,
        )
    assert ei.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "4097" in ei.value.details() and "group" in ei.value.details(), ei.value.details()
    _, after = get_json(pb, stub, pb.Path())
    assert normalize(after) == normalize(before)


class Collector:
    """Reads a response stream in a thread into a queue."""

    def __init__(self, call):
        self.call = call
        self.q: queue.Queue = queue.Queue()
        self.error = None
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        try:
            for r in self.call:
                self.q.put(r)
        except grpc.RpcError as e:
            self.error = e
        self.q.put(None)

    def until_sync(self, timeout=10):
        out = []
        deadline = time.time() + timeout
        while True:
            r = self.q.get(timeout=max(0.01, deadline - time.time()))
            assert r is not None, f"stream ended before sync_response: {self.error}"
            if r.sync_response:
                return out
            out.append(r)

    def wait_for(self, pred, timeout=5):
        deadline = time.time() + timeout
        while True:
            r = self.q.get(timeout=max(0.01, deadline - time.time()))
            assert r is not None, f"stream ended: {self.error and (self.error.code(), self.error.details())}"
            if pred(r):
                return r


def test_subscribe_stream_on_change_after_half_close(pb, stubs, stub, reference):
    load_reference(pb, stub, reference)
    sub = pb.SubscribeRequest(
        subscribe=pb.SubscriptionList(
            mode=pb.SubscriptionList.STREAM,
            encoding=pb.JSON_IETF,
            subscription=[pb.Subscription(path=path(pb, "/tether-link-state:link-state/groups/group[id=1]/config"),
                                          mode=pb.ON_CHANGE)],
        )
    )
    # The request iterator ends after the SubscriptionList: grpcio half-closes the stream.
    call = stub.Subscribe(iter([sub]))
    c = Collector(call)
    try:
        initial = c.until_sync()
        assert initial, "initial updates before sync_response"
        time.sleep(0.3)  # the half-close has certainly reached the server
        assert c.error is None and c.t.is_alive(), "target closed the stream after the client half-closed"
        for i in range(3):
            stub.Set(pb.SetRequest(update=[pb.Update(
                path=path(pb, "/link-state/groups/group[id=1]/config/description"), val=jval(pb, f"half-closed {i}"))]),
                timeout=10)
            r = c.wait_for(lambda r: r.HasField("update") and f"half-closed {i}".encode() in r.SerializeToString())
            assert r.update.timestamp > 1_500_000_000 * 10**9
            u = [u for u in r.update.update if u.path.elem and u.path.elem[-1].name == "description"
                 or any(e.name == "description" for e in r.update.prefix.elem)]
            assert u, r
            assert json.loads(u[0].val.json_ietf_val) == f"half-closed {i}"
    finally:
        call.cancel()


def test_subscribe_notification_timestamps_are_current(pb, stub, reference):
    load_reference(pb, stub, reference)
    time.sleep(1.0)  # any notification about what follows is at least this much after daemon start
    sub = pb.SubscribeRequest(subscribe=pb.SubscriptionList(
        mode=pb.SubscriptionList.STREAM, encoding=pb.JSON_IETF, updates_only=True,
        subscription=[pb.Subscription(path=path(pb, "/link-state/groups/group[id=1]/downstream/interfaces"),
                                      mode=pb.ON_CHANGE)]))
    call = stub.Subscribe(iter([sub]))
    c = Collector(call)
    try:
        c.until_sync()
        before = time.time_ns()
        stub.Set(pb.SetRequest(update=[pb.Update(
            path=path(pb, "/link-state/groups/group[id=1]/downstream/interfaces/interface[name=Gi1/41]"),
            val=jval(pb, {"name": "Gi1/41", "config": {"name": "Gi1/41"}}))]), timeout=10)
        stamps = []
        deadline = time.time() + 3
        while time.time() < deadline:
            try:
                r = c.q.get(timeout=0.5)
            except queue.Empty:
                continue
            if r is None:
                break
            if r.HasField("update"):
                kinds = {e.name for u in r.update.update for e in u.path.elem}
                stamps.append((r.update.timestamp, "state" if "state" in kinds else "config"))
        assert {k for _, k in stamps} == {"config", "state"}, stamps
        late = [(ts, k) for ts, k in stamps if ts < before - 50_000_000]
        assert not late, f"notifications stamped before the Set was sent ({before}): {late}"
    finally:
        call.cancel()
