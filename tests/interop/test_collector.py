"""The collector pipeline, real end to end: tetherd → Telegraf (inputs.gnmi, running
deploy/telegraf.conf as it is) → outputs.prometheus_client → a real Prometheus server scraping
it → PromQL, and every query of deploy/grafana-dashboard.json evaluated against that Prometheus.

The reference scenario is loaded (one group: upstream Po11, downstreams Gi1/1-40; TCP state
bypass on Inside and MPLS), a bypass connection is built with the simulator's packet injection,
and the queries must show, as numeric series: the group's status (1 up), its upstream and
downstream counts, the bypass connection counters; then the upstream loses carrier and the
same series must show the group down with all 40 downstreams disabled.

Binaries: `$TELEGRAF` (v1.37.2 built with the plugins deploy/telegraf.conf names) and
`$PROMETHEUS` (Debian's prometheus), as tests/go_tools.sh installs and prints them.
Telegraf and Prometheus listen on free loopback ports; Prometheus gets its own data directory.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import grpc
import pytest

from conftest import REPO
from tetherlib import paths
from tetherlib import stubs as stubs_mod
from tetherlib.wait import eventually

TELEGRAF_CONF = REPO / "deploy" / "telegraf.conf"
DASHBOARD = REPO / "deploy" / "grafana-dashboard.json"
DOWNSTREAMS = [f"Gi1/{i}" for i in range(1, 41)]
CARRIER = "/interfaces/interface[name={}]/simulation/config/carrier"
# Telegraf sends every leaf again each heartbeat (30 s) and Prometheus scrapes every second:
# the waits below are for one hop each.
WAIT = 30.0


def binary(env: str, default: str) -> str:
    path = os.environ.get(env) or shutil.which(default) or str(Path.home() / ".cache/tether/go/bin" / default)
    if not Path(path).is_file():
        pytest.fail(f"{default} not found: run `eval \"$(bash tests/go_tools.sh)\"` (or set ${env})")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pb_stubs(tmp_path_factory):
    return stubs_mod.generate(tmp_path_factory.mktemp("collector_stubs"))


@pytest.fixture(scope="module")
def sim_stubs(tmp_path_factory):
    """tether.sim.v1 stubs (packet injection), generated from proto/tether/sim/v1."""
    import grpc_tools  # noqa: PLC0415
    from grpc_tools import protoc  # noqa: PLC0415

    out = tmp_path_factory.mktemp("sim_stubs")
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    rc = protoc.main(["grpc_tools.protoc", f"-I{REPO / 'proto'}", f"-I{well_known}", f"--python_out={out}",
                      f"--grpc_python_out={out}", str(REPO / "proto/tether/sim/v1/simulator.proto")])
    assert rc == 0
    sys.path.insert(0, str(out))
    try:
        from tether.sim.v1 import simulator_pb2, simulator_pb2_grpc  # noqa: PLC0415
    finally:
        sys.path.remove(str(out))
    return simulator_pb2, simulator_pb2_grpc


class Prometheus:
    """A Prometheus server scraping one target every second, on a free loopback port, with a
    data directory of its own."""

    def __init__(self, tmp: Path, target: str):
        self.port = free_port()
        cfg = tmp / "prometheus.yml"
        cfg.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"scrape_configs:\n  - job_name: telegraf\n    static_configs:\n      - targets: ['{target}']\n"
        )
        self.log = open(tmp / "prometheus.log", "w")
        self.proc = subprocess.Popen(
            [binary("PROMETHEUS", "prometheus"), f"--config.file={cfg}", f"--storage.tsdb.path={tmp / 'prom-data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        eventually(self.ready, bool, timeout=60, interval=0.2)

    def ready(self) -> bool:
        assert self.proc.poll() is None, "prometheus exited: see prometheus.log"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def query(self, expr: str) -> list[tuple[dict, float]]:
        """An instant query: (labels, value) of each series of the vector."""
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.load(r)
        assert body["status"] == "success", body
        assert body["data"]["resultType"] == "vector", (expr, body["data"]["resultType"])
        return [(s["metric"], float(s["value"][1])) for s in body["data"]["result"]]

    def values(self, expr: str) -> dict[str, float]:
        """One value per series, keyed by the series' labels (name excluded) as text."""
        return {",".join(f"{k}={v}" for k, v in sorted(m.items()) if k != "__name__"): v for m, v in self.query(expr)}

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class Telegraf:
    """Telegraf running deploy/telegraf.conf unchanged; the environment fills its ${...}."""

    def __init__(self, tmp: Path, gnmi_addr: str, encoding: str | None):
        self.listen = f"127.0.0.1:{free_port()}"
        env = dict(os.environ, TETHER_GNMI_ADDRESS=gnmi_addr, TETHER_TELEGRAF_FLUSH="1s",
                   TETHER_SAMPLE_INTERVAL="1s", TETHER_PROMETHEUS_LISTEN=self.listen)
        env.pop("TETHER_GNMI_ENCODING", None)
        if encoding is not None:
            env["TETHER_GNMI_ENCODING"] = encoding
        self.log_path = tmp / "telegraf.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([binary("TELEGRAF", "telegraf"), "--config", str(TELEGRAF_CONF)],
                                     env=env, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def errors(self) -> list[str]:
        return [line for line in self.log_path.read_text().splitlines() if " E! " in line]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def load_scenario(pb, gnmi, reference):
    def jval(v):
        return pb.TypedValue(json_ietf_val=json.dumps(v).encode())

    gnmi.Set(pb.SetRequest(update=[
        pb.Update(path=paths.path(pb, "/tether-link-state:link-state"), val=jval(reference["tether-link-state:link-state"])),
        pb.Update(path=paths.path(pb, "/tether-conntrack-bypass:bypass"), val=jval(reference["tether-conntrack-bypass:bypass"])),
    ]), timeout=30)
    set_carriers(pb, gnmi, ["Po11", "Inside", "MPLS", *DOWNSTREAMS], True)

    # The worker creates the simulated interfaces after the commit: wait for Inside to be up.
    def inside_status():
        try:
            r = gnmi.Get(pb.GetRequest(path=[paths.path(pb, "/interfaces/interface[name=Inside]/state/oper-status")],
                                       encoding=pb.JSON_IETF), timeout=10)
        except grpc.RpcError:
            return None
        return json.loads(r.notification[0].update[0].val.json_ietf_val)

    eventually(inside_status, lambda v: v == "up", timeout=WAIT)


def set_carriers(pb, gnmi, names, up: bool):
    gnmi.Set(pb.SetRequest(update=[
        pb.Update(path=paths.path(pb, CARRIER.format(n)), val=pb.TypedValue(json_ietf_val=b"true" if up else b"false"))
        for n in names
    ]), timeout=30)


def build_bypass_connections(sim_pb, sim, n: int):
    """`n` mid-flow TCP packets (ACK, no SYN) from the remote site to the data centre on Inside:
    only TCP state bypass passes them, each building a bypass connection."""
    for i in range(n):
        r = sim.InjectPacket(sim_pb.InjectPacketRequest(
            ingress_interface="Inside", source_address="198.18.1.10", destination_address="198.19.1.20",
            protocol=6, source_port=40000 + i, destination_port=443, tcp_flags=sim_pb.TcpFlags(ack=True), length=1200,
        ), timeout=10)
        assert r.verdict == sim_pb.VERDICT_PASS and r.reason == "bypass", r


def encodings():
    """deploy/telegraf.conf's own (json_ietf), and Telegraf's default (proto) once tetherd
    advertises PROTO."""
    return [pytest.param(None, id="deploy-default"), pytest.param("proto", id="proto")]


@pytest.mark.parametrize("encoding", encodings())
def test_telegraf_prometheus_pipeline(tetherd, tmp_path, reference, pb_stubs, sim_stubs, encoding):
    pb, pb_grpc = pb_stubs
    channel = grpc.insecure_channel(tetherd.addr)
    gnmi = pb_grpc.gNMIStub(channel)
    caps = gnmi.Capabilities(pb.CapabilityRequest(), timeout=10)
    if encoding == "proto" and pb.PROTO not in caps.supported_encodings:
        pytest.skip("tetherd does not advertise the PROTO encoding yet")
    sim_pb, sim_grpc = sim_stubs
    sim = sim_grpc.SimulatorStub(channel)

    load_scenario(pb, gnmi, reference)
    build_bypass_connections(sim_pb, sim, 3)

    telegraf = Telegraf(tmp_path, tetherd.addr, encoding)
    prom = Prometheus(tmp_path, telegraf.listen)
    try:
        group = '{group_id="1"}'
        inside = '{policy_name="Inside-policy",class_name="tcp_bypass"}'

        def holds(expr, want):
            return eventually(lambda: prom.values(expr), want, timeout=WAIT, interval=0.5)

        # Status, upstream and downstream counts, bypass counters: numeric series.
        holds(f"tether_link_state_group_status{group}", lambda v: list(v.values()) == [1.0])
        holds(f"tether_link_state_group_upstream_up{group}", lambda v: list(v.values()) == [1.0])
        holds(f"tether_link_state_group_upstream_total{group}", lambda v: list(v.values()) == [1.0])
        holds(f"count(tether_link_state_downstream_oper_status{group})", lambda v: list(v.values()) == [40.0])
        holds(f"sum(tether_link_state_downstream_oper_status{group} == bool 1)", lambda v: list(v.values()) == [40.0])
        holds(f"tether_bypass_class_bypass_connections_built{inside}", lambda v: list(v.values()) == [3.0])
        holds(f"tether_bypass_class_bypass_connections_current{inside}", lambda v: list(v.values()) == [3.0])
        holds(f"tether_bypass_class_matched_packets{inside}", lambda v: list(v.values()) == [3.0])
        holds('tether_bypass_class_bypass_connections_built{policy_name="MPLS-policy"}', lambda v: list(v.values()) == [0.0])

        # Every numeric leaf of the subscribed containers reaches Prometheus (JSON_IETF's
        # 64-bit strings included: processors.converter must name each one).
        for sub, p in [
            ("tether_link_state_group", "/link-state/groups/group[id=1]/state"),
            ("tether_bypass_class", "/bypass/policies/policy[name=Inside-policy]/classes/class[name=tcp_bypass]/state"),
        ]:
            r = gnmi.Get(pb.GetRequest(path=[paths.path(pb, p)], encoding=pb.JSON_IETF), timeout=10)
            leaves = json.loads(r.notification[0].update[0].val.json_ietf_val)
            numeric = {k for k, v in leaves.items()
                       if isinstance(v, (bool, int, float)) or (isinstance(v, str) and v.isdigit())}
            assert numeric, leaves
            names = {m["__name__"] for m, _ in prom.query(f'{{__name__=~"{sub}_.+"}}')}
            missing = {k for k in numeric if f"{sub}_{k.replace('-', '_')}" not in names}
            assert not missing, f"numeric leaves of {p} missing from Prometheus: {sorted(missing)}"

        # The upstream loses carrier: the group goes down and disables its 40 downstreams.
        set_carriers(pb, gnmi, ["Po11"], False)
        holds(f"tether_link_state_group_status{group}", lambda v: list(v.values()) == [0.0])
        holds(f"tether_link_state_group_upstream_up{group}", lambda v: list(v.values()) == [0.0])
        holds(f"tether_link_state_group_downstream_disabled{group}", lambda v: list(v.values()) == [40.0])
        holds(f"sum(tether_link_state_downstream_oper_status{group} == bool 2)", lambda v: list(v.values()) == [40.0])
        holds(f"tether_link_state_group_transitions{group}", lambda v: list(v.values()) == [2.0])

        # Every query of every dashboard panel returns numeric data from this Prometheus.
        dash = json.loads(DASHBOARD.read_text())
        assert dash["panels"], "the dashboard has no panels"
        empty = []
        for panel in dash["panels"]:
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
            assert panel["targets"], panel["title"]
            for t in panel["targets"]:
                assert "$" not in t["expr"], (panel["title"], t["expr"])  # runs as written
                try:
                    eventually(lambda: prom.query(t["expr"]), bool, timeout=WAIT, interval=0.5)
                except AssertionError:
                    empty.append(f'{panel["title"]}: {t["expr"]}')
                    continue
                assert all(v == v for _, v in prom.query(t["expr"])), t["expr"]  # no NaN
        assert not empty, "dashboard queries without data:\n" + "\n".join(empty)
        assert len({p["id"] for p in dash["panels"]}) == len(dash["panels"])

        assert telegraf.errors() == [], telegraf.errors()
    finally:
        prom.stop()
        telegraf.stop()
        channel.close()
    assert telegraf.proc.returncode == 0, telegraf.log_path.read_text()[-3000:]
