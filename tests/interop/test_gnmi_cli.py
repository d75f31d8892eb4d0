"""gnmi_cli, the OpenConfig reference client (github.com/openconfig/gnmi v0.14.1, cmd/gnmi_cli),
against a real tetherd: Capabilities, Get, Set (update, replace, delete, a refused Set),
Subscribe ONCE, POLL and STREAM (ON_CHANGE and SAMPLE), every answer read from gnmi_cli's own
output.

The binary is `$GNMI_CLI` (tests/go_tools.sh installs it with `go install` into
~/.cache/tether/go and prints the variable; tests/run-all.sh does both).

What gnmi_cli v0.14.1 does, from its source (cmd/gnmi_cli/gnmi_cli.go, cli/cli.go,
client/gnmi/client.go):
- `-capabilities`, `-get`, `-set` take the request as a text proto (`-proto` or `-proto_file`)
  and print the response as a text proto: the tests parse it into gnmi messages
  (generated from this repository's proto/gnmi, tests/tetherlib/stubs.py).
- Subscribe is the default RPC. `-q PATHS -qt once|p|s` builds the request itself: paths with
  both `elem` and the deprecated `element` filled in (ygot.StringToPath), mode TARGET_DEFINED,
  encoding JSON (the enum's zero). `-proto` takes a whole SubscribeRequest instead (it needs a
  `prefix`; `-proto_file` is not read for Subscribe). Display `-dt g` (the default) prints
  the collected tree as JSON-like text, `-dt s` one `path, value` line per update, `-dt p` each
  SubscribeResponse as a text proto. A JSON or JSON_IETF value is shown through
  value.ToScalar, which wraps it: `{Deprecated TypedValue_JsonVal up}`.
- POLL sends a Poll every `-pi` and prints the tree after each; `-c N` ends after N polls, or
  for STREAM after N notifications counted one per update plus one for sync_response. `-c` is
  not counted with `-dt p`: a STREAM then runs for `-sd DURATION` and ends with exit code 1 and
  gnmi_cli's own `... DeadlineExceeded desc = context deadline exceeded` after the output.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from pathlib import Path

import pytest
from google.protobuf import text_format

from conftest import MODULES, normalize
from tetherlib import paths
from tetherlib import stubs as stubs_mod
from tetherlib.wait import eventually

GROUP_STATUS = "/link-state/groups/group[id=1]/state/status"
CARRIER = "/interfaces/interface[name={}]/simulation/config/carrier"


def gnmi_cli_binary() -> Path:
    path = Path(os.environ.get("GNMI_CLI") or Path.home() / ".cache/tether/go/bin/gnmi_cli")
    if not path.is_file():
        pytest.fail(f"gnmi_cli not found at {path}: run `eval \"$(bash tests/go_tools.sh)\"` (or set $GNMI_CLI)")
    return path


@pytest.fixture(scope="session")
def pb(tmp_path_factory):
    return stubs_mod.generate(tmp_path_factory.mktemp("gnmi_cli_stubs"))[0]


def argv(tetherd, *args: str) -> list[str]:
    return [str(gnmi_cli_binary()), "-logtostderr", "-a", tetherd.addr, "-insecure", *args]


def cli(tetherd, *args: str, ok: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
    out = subprocess.run(argv(tetherd, *args), capture_output=True, text=True, timeout=timeout)
    if ok:
        assert out.returncode == 0, f"gnmi_cli {' '.join(args)[:300]}: rc {out.returncode}\n{out.stdout[-2000:]}{out.stderr[-2000:]}"
    return out


def proto(msg) -> str:
    """A request as the text proto gnmi_cli's -proto flag takes (prototext)."""
    return text_format.MessageToString(msg)


def parse(cls, text: str):
    return text_format.Parse(text, cls())


def path(pb, text: str, origin: str = ""):
    return paths.path(pb, text, origin)


def json_ietf(pb, value):
    return pb.TypedValue(json_ietf_val=json.dumps(value).encode())


def set_request(pb, updates=(), replaces=(), deletes=()):
    return pb.SetRequest(
        update=[pb.Update(path=path(pb, p), val=json_ietf(pb, v)) for p, v in updates],
        replace=[pb.Update(path=path(pb, p), val=json_ietf(pb, v)) for p, v in replaces],
        delete=[path(pb, p) for p in deletes],
    )


def gnmi_set(tetherd, pb, **kw):
    return parse(pb.SetResponse, cli(tetherd, "-set", "-proto", proto(set_request(pb, **kw))).stdout)


def gnmi_get(tetherd, pb, text: str, encoding=None, dtype=None):
    """Get of one path through gnmi_cli: the one update's value, decoded."""
    req = pb.GetRequest(path=[path(pb, text)], encoding=pb.JSON_IETF if encoding is None else encoding)
    if dtype is not None:
        req.type = dtype
    r = parse(pb.GetResponse, cli(tetherd, "-get", "-proto", proto(req)).stdout)
    assert len(r.notification) == 1 and len(r.notification[0].update) == 1, r
    val = r.notification[0].update[0].val
    return json.loads(val.json_ietf_val if val.HasField("json_ietf_val") else val.json_val)


def load_reference(tetherd, pb, reference, tmp_path):
    """The reference scenario through -proto_file, then its interfaces' carriers up."""
    req = set_request(pb, updates=[
        ("/tether-link-state:link-state", reference["tether-link-state:link-state"]),
        ("/tether-conntrack-bypass:bypass", reference["tether-conntrack-bypass:bypass"]),
    ])
    f = tmp_path / "reference.textproto"
    f.write_text(proto(req))
    r = parse(pb.SetResponse, cli(tetherd, "-set", "-proto_file", str(f)).stdout)
    assert [u.op for u in r.response] == [pb.UpdateResult.UPDATE] * 2
    carriers(tetherd, pb, ["Po11", "Gi1/1", "Gi1/2"], True)
    eventually(lambda: gnmi_get(tetherd, pb, GROUP_STATUS), lambda v: v == "up")


def carriers(tetherd, pb, names, up: bool):
    gnmi_set(tetherd, pb, updates=[(CARRIER.format(n), up) for n in names])


def shown(value: str) -> str:
    """How gnmi_cli's -dt g / -dt s display shows a JSON or JSON_IETF leaf value `value`."""
    return rf"\{{Deprecated TypedValue_Json(?:Ietf)?Val {re.escape(value)}\}}"


def until_deadline(out: subprocess.CompletedProcess | tuple[int, str]) -> str:
    """The output of a `-dt p -sd D` STREAM: exit code 1 with gnmi_cli's deadline message after
    the responses (see the module doc); the responses' text."""
    rc, text = (out.returncode, out.stdout) if isinstance(out, subprocess.CompletedProcess) else out
    body, sep, trailer = text.partition("sendQueryAndDisplay(")
    assert rc == 1 and sep and "code = DeadlineExceeded" in trailer, (rc, text[-3000:])
    return body


def responses(pb, text: str) -> list:
    """`-dt p` output: one SubscribeResponse text proto after another, each starting at column 0."""
    blocks, cur = [], []
    for line in text.splitlines():
        if line and not line[0].isspace() and not line.startswith("}") and cur:
            blocks.append("\n".join(cur))
            cur = []
        if line.strip():
            cur.append(line)
    if cur:
        blocks.append("\n".join(cur))
    return [parse(pb.SubscribeResponse, b) for b in blocks]


# ---- Capabilities, Get, Set ------------------------------------------------------------------


def test_capabilities(tetherd, pb):
    r = parse(pb.CapabilityResponse, cli(tetherd, "-capabilities").stdout)
    assert MODULES <= {m.name for m in r.supported_models}
    assert all(m.organization and re.fullmatch(r"\d{4}-\d{2}-\d{2}", m.version) for m in r.supported_models), r
    assert {pb.JSON, pb.JSON_IETF} <= set(r.supported_encodings)
    assert r.gNMI_version == "0.10.0"


def test_get_json_ietf_and_json(tetherd, pb, reference, tmp_path):
    load_reference(tetherd, pb, reference, tmp_path)
    whole = gnmi_get(tetherd, pb, "/", dtype=pb.GetRequest.CONFIG)
    assert normalize({k: whole[k] for k in reference}) == normalize(reference)
    # JSON (gnmic's default encoding) answers json_val, names without module prefixes.
    group = gnmi_get(tetherd, pb, "/link-state/groups/group[id=1]/state", encoding=pb.JSON)
    assert group["status"] == "up" and group["upstream-up"] == 1, group
    downs = gnmi_get(tetherd, pb, "/link-state/groups/group[id=1]/downstream/interfaces", dtype=pb.GetRequest.CONFIG)
    assert sorted(i["name"] for i in downs["interface"]) == sorted(f"Gi1/{i}" for i in range(1, 41))


def test_get_of_absent_data_is_not_found(tetherd, pb):
    req = pb.GetRequest(path=[path(pb, "/link-state/groups/group[id=99]")], encoding=pb.JSON_IETF)
    out = cli(tetherd, "-get", "-proto", proto(req), ok=False)
    assert out.returncode == 1
    assert "NotFound" in out.stdout, out.stdout


def test_set_update_replace_delete(tetherd, pb, reference, tmp_path):
    load_reference(tetherd, pb, reference, tmp_path)
    acl = "/tether-conntrack-bypass:bypass/access-lists/access-list[name=StatelessTraffic]"
    entries = {"entry": [{"sequence": 30, "config": {"sequence": 30, "action": "permit", "protocol": "udp",
                                                     "source-prefix": "198.18.1.0/24", "remark": "udp"}}]}
    r = gnmi_set(
        tetherd, pb,
        updates=[("/link-state/groups/group[id=1]/config/description", "TOR uplinks")],
        replaces=[(acl + "/entries", entries)],
        deletes=["/link-state/groups/group[id=1]/downstream/interfaces/interface[name=Gi1/40]"],
    )
    # Deletes, then replaces, then updates (gNMI 3.4.4), one result each, in that order.
    assert [u.op for u in r.response] == [pb.UpdateResult.DELETE, pb.UpdateResult.REPLACE, pb.UpdateResult.UPDATE]
    assert r.timestamp > 1_500_000_000 * 10**9
    assert gnmi_get(tetherd, pb, "/link-state/groups/group[id=1]/config/description") == "TOR uplinks"
    assert normalize(gnmi_get(tetherd, pb, acl + "/entries", dtype=pb.GetRequest.CONFIG)) == normalize(entries)
    downs = gnmi_get(tetherd, pb, "/link-state/groups/group[id=1]/downstream/interfaces", dtype=pb.GetRequest.CONFIG)
    assert len(downs["interface"]) == 39


def test_refused_set_changes_nothing(tetherd, pb, reference, tmp_path):
    load_reference(tetherd, pb, reference, tmp_path)
    before = gnmi_get(tetherd, pb, "/", dtype=pb.GetRequest.CONFIG)
    idle = "/bypass/policies/policy[name=Inside-policy]/classes/class[name=tcp_bypass]/config/idle-timeout"
    req = set_request(pb, updates=[("/link-state/groups/group[id=1]/config/description", "changed"), (idle, 0)])
    out = cli(tetherd, "-set", "-proto", proto(req), ok=False)
    assert out.returncode == 1
    assert "InvalidArgument" in out.stdout and "idle-timeout" in out.stdout, out.stdout
    assert gnmi_get(tetherd, pb, "/", dtype=pb.GetRequest.CONFIG) == before


# ---- Subscribe -------------------------------------------------------------------------------


def test_subscribe_once(tetherd, pb, reference, tmp_path):
    load_reference(tetherd, pb, reference, tmp_path)
    q = f"{GROUP_STATUS},/interfaces/interface[name=Po11]/state/oper-status"
    group = cli(tetherd, "-qt", "once", "-q", q).stdout
    assert re.search(r'"status": ' + shown("up"), group), group
    assert re.search(r'"oper-status": ' + shown("up"), group), group
    single = cli(tetherd, "-qt", "once", "-dt", "s", "-q", "/link-state/groups/group[id=1]/state").stdout.splitlines()
    leaves = {line.split(", ", 1)[0].rsplit("/", 1)[1]: line.split(", ", 1)[1] for line in single}
    assert re.fullmatch(shown("up"), leaves["status"]), single
    assert re.fullmatch(shown("1"), leaves["upstream-up"]), single
    assert re.fullmatch(shown("1"), leaves["upstream-total"]), single  # one upstream, Po11
    # -dt p: the responses themselves: the updates, then one sync_response.
    rs = responses(pb, cli(tetherd, "-qt", "once", "-dt", "p", "-q", "/link-state/groups/group[id=1]/downstream/interfaces/interface/state/oper-status").stdout)
    assert rs[-1].sync_response and not any(r.sync_response for r in rs[:-1])
    names = set()
    for r in rs[:-1]:
        for u in r.update.update:
            full = list(r.update.prefix.elem) + list(u.path.elem)
            names.add(full[-3].key["name"])
            assert full[-1].name == "oper-status"
    assert len(names) == 40, names


def test_subscribe_poll_sees_a_change(tetherd, pb, reference, tmp_path):
    load_reference(tetherd, pb, reference, tmp_path)
    proc = subprocess.Popen(argv(tetherd, "-qt", "p", "-pi", "1s", "-c", "3", "-q", GROUP_STATUS),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = []
        while (line := proc.stdout.readline()) and line != "}\n":
            first.append(line)
        assert re.search(r'"status": ' + shown("up"), "".join(first)), first
        carriers(tetherd, pb, ["Po11"], False)
        rest, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    snapshots = rest.split("}\n{")
    assert len(snapshots) == 2, rest
    assert re.search(r'"status": ' + shown("down"), snapshots[-1]), rest


def test_subscribe_stream_on_change(tetherd, pb, reference, tmp_path):
    load_reference(tetherd, pb, reference, tmp_path)
    req = pb.SubscribeRequest(subscribe=pb.SubscriptionList(
        prefix=pb.Path(),
        mode=pb.SubscriptionList.STREAM,
        encoding=pb.JSON_IETF,
        subscription=[pb.Subscription(path=path(pb, GROUP_STATUS), mode=pb.ON_CHANGE)],
    ))
    proc = subprocess.Popen(argv(tetherd, "-dt", "p", "-sd", "6s", "-proto", proto(req)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        head = []
        while (line := proc.stdout.readline()) and not line.startswith("sync_response"):
            head.append(line)
        assert line.startswith("sync_response"), (head, proc.stderr.read())
        carriers(tetherd, pb, ["Po11"], False)
        rest, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    rest = until_deadline((proc.returncode, rest))
    rs = responses(pb, "".join(head)) + responses(pb, rest)
    values = [json.loads(u.val.json_ietf_val) for r in rs if r.HasField("update") for u in r.update.update]
    assert values == ["up", "down"], rs
    # the change is stamped after the first value, in nanoseconds
    stamps = [r.update.timestamp for r in rs if r.HasField("update")]
    assert stamps[0] > 1_500_000_000 * 10**9 and stamps[1] >= stamps[0]


def test_subscribe_stream_sample(tetherd, pb, reference, tmp_path):
    load_reference(tetherd, pb, reference, tmp_path)
    req = pb.SubscribeRequest(subscribe=pb.SubscriptionList(
        prefix=pb.Path(),
        mode=pb.SubscriptionList.STREAM,
        encoding=pb.JSON_IETF,
        subscription=[pb.Subscription(path=path(pb, "/link-state/groups/group[id=1]/state/upstream-up"),
                                      mode=pb.SAMPLE, sample_interval=200_000_000)],
    ))
    rs = responses(pb, until_deadline(cli(tetherd, "-dt", "p", "-sd", "2s", "-proto", proto(req), ok=False)))
    updates = [r for r in rs if r.HasField("update")]
    # the value, sync_response, then a sample every 200 ms, each with the same value
    assert [r.sync_response for r in rs].count(True) == 1 and rs[1].sync_response, rs[:3]
    assert all(json.loads(r.update.update[0].val.json_ietf_val) == 1 for r in updates), rs
    stamps = [r.update.timestamp for r in updates]
    assert len(updates) >= 5 and stamps == sorted(stamps), stamps  # 2 s at 200 ms, on a loaded machine
    gaps = [b - a for a, b in zip(stamps[1:], stamps[2:])]
    assert min(gaps) >= 150_000_000, gaps  # never faster than asked


def test_subscribe_stream_shows_changes_in_group_display(tetherd, pb, reference, tmp_path):
    """`-qt s` (the request gnmi_cli builds itself: TARGET_DEFINED, encoding JSON, `element`
    beside `elem`): the tree at sync, then each change as it comes."""
    load_reference(tetherd, pb, reference, tmp_path)
    proc = subprocess.Popen(argv(tetherd, "-qt", "s", "-sd", "5s", "-q", GROUP_STATUS),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        eventually(lambda: "".join(got), lambda t: re.search(shown("up"), t), timeout=15)
        carriers(tetherd, pb, ["Po11"], False)
        proc.wait(timeout=30)
        reader.join(5)
    finally:
        proc.kill()
    text = until_deadline((proc.returncode, "".join(got)))
    assert re.search(r'"status": ' + shown("up") + r".*" + r'"status": ' + shown("down"), text, re.S), text


def test_subscribe_once_proto_encoding(tetherd, pb, reference, tmp_path):
    """PROTO (scalar TypedValues), which gnmi_cli displays without its JSON wrapper; runs once
    tetherd advertises PROTO in Capabilities."""
    caps = parse(pb.CapabilityResponse, cli(tetherd, "-capabilities").stdout)
    if pb.PROTO not in caps.supported_encodings:
        pytest.skip("tetherd does not advertise the PROTO encoding yet")
    load_reference(tetherd, pb, reference, tmp_path)
    req = pb.SubscribeRequest(subscribe=pb.SubscriptionList(
        prefix=pb.Path(), mode=pb.SubscriptionList.ONCE, encoding=pb.PROTO,
        subscription=[pb.Subscription(path=path(pb, "/link-state/groups/group[id=1]/state"))],
    ))
    single = cli(tetherd, "-dt", "s", "-proto", proto(req)).stdout.splitlines()
    leaves = {line.split(", ", 1)[0].rsplit("/", 1)[1]: line.split(", ", 1)[1] for line in single}
    assert leaves["status"] == "up" and leaves["upstream-up"] == "1" and leaves["transitions"] == "1", single
    rs = responses(pb, cli(tetherd, "-dt", "p", "-proto", proto(req)).stdout)
    vals = {list(u.path.elem)[-1].name: u.val for r in rs if r.HasField("update") for u in r.update.update}
    assert vals["status"].WhichOneof("value") == "string_val"
    assert vals["transitions"].WhichOneof("value") == "uint_val" and vals["transitions"].uint_val == 1
    assert vals["enabled"].WhichOneof("value") == "bool_val"
