"""Root-only fixtures: network namespaces made by the test, and `tetherd --dataplane linux`
running INSIDE one of them, reached from the test process over a veth pair.

Rules kept here (see issue 5, "Tests"):
- every namespace is named `tn<pid><role[:2]><n>` and every host-side veth `tn<pid>h<n>`;
- addresses come only from 198.18.0.0/15 (the management /30s from 198.19.255.0/24);
- nothing is changed in the host namespace except the one host-side veth end per test
  (no nft rules, no sysctls, no other interface);
- a finalizer kills tetherd and every process left in the test's namespaces and deletes the
  namespaces and the host veth, whatever happened in the test.

The module is skipped (pytest.skip) when not root or when `ip netns` / `nft` are unavailable.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "tests"))

from tetherlib import daemon, paths, stubs as gnmi_stubs  # noqa: E402
MGMT_NET = ipaddress.ip_network("198.19.255.0/24")
GNMI_PORT = 57400

_COUNTER = itertools.count()


# ---- can we run at all -------------------------------------------------------------------


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces, nftables)"
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            return f"`{tool}` not found"
    try:
        subprocess.run(["ip", "netns", "list"], check=True, capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as e:
        return f"`ip netns` unavailable: {e}"
    probe = f"tn{os.getpid()}probe"
    r = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if r.returncode != 0:
        return f"cannot create a network namespace: {r.stderr.strip()}"
    try:
        r = subprocess.run(["ip", "netns", "exec", probe, "nft", "list", "tables"], capture_output=True, text=True)
        if r.returncode != 0:
            return f"`nft` does not work in a namespace: {r.stderr.strip()}"
    finally:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def pytest_collection_modifyitems(config, items):
    here = [i for i in items if Path(str(i.fspath)).resolve().is_relative_to(HERE)]
    if not here:
        return
    reason = _skip_reason()
    if reason:
        for item in here:
            item.add_marker(pytest.mark.skip(reason=reason))


def tetherd_binary() -> Path:
    try:
        return daemon.binary("tetherd")
    except FileNotFoundError as e:
        pytest.fail(str(e))


# ---- shell helpers ---------------------------------------------------------------------------


def sh(cmd: str | list[str], check: bool = True, timeout: float = 30) -> str:
    r = subprocess.run(cmd, shell=isinstance(cmd, str), capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"{cmd!r} failed ({r.returncode}): {r.stdout}{r.stderr}")
    return r.stdout


class Netns:
    def __init__(self, name: str):
        self.name = name

    def run(self, cmd: str, check: bool = True, timeout: float = 30) -> str:
        return sh(["ip", "netns", "exec", self.name, "sh", "-c", cmd], check=check, timeout=timeout)

    def cmd(self, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    def link(self, dev: str) -> dict | None:
        """`ip -j link show dev` as a dict, or None when the device does not exist."""
        r = subprocess.run(["ip", "-n", self.name, "-j", "-d", "link", "show", "dev", dev], capture_output=True, text=True)
        if r.returncode != 0 or not r.stdout.strip():
            return None
        return json.loads(r.stdout)[0]

    def links(self) -> dict[str, dict]:
        out = sh(["ip", "-n", self.name, "-j", "-d", "link", "show"])
        return {l["ifname"]: l for l in json.loads(out)}

    def __repr__(self):
        return f"Netns({self.name})"


def link_is_up(l: dict | None) -> bool:
    """Operationally usable: admin UP, LOWER_UP and not protodown."""
    if l is None:
        return False
    flags = l.get("flags", [])
    return "UP" in flags and "LOWER_UP" in flags and not l.get("proto_down", False)


# ---- tetherd inside a namespace -----------------------------------------------------------


class Tetherd(daemon.Tetherd):
    """`ip netns exec <ns> tetherd --dataplane linux --insecure --listen <addr>`; stderr collected."""

    def __init__(self, ns: Netns, listen: str, data_dir: Path, timeout: float = 60.0):
        self.ns, self.listen = ns, listen
        argv = ns.cmd(
            str(tetherd_binary()), "--dataplane", "linux", "--insecure",
            "--listen", listen, "--data-dir", str(data_dir),
        )
        super().__init__(argv, data_dir, timeout)


# ---- the lab: namespaces, veths, tetherd, cleanup ---------------------------------------------


def _used_host_addrs() -> set[ipaddress.IPv4Address]:
    out = sh(["ip", "-j", "-4", "addr", "show"])
    used = set()
    for l in json.loads(out):
        for a in l.get("addr_info", []):
            used.add(ipaddress.ip_address(a["local"]))
    return used


class Lab:
    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.n = next(_COUNTER)
        self.pid = os.getpid()
        self.namespaces: list[Netns] = []
        self.host_veths: list[str] = []
        self.daemons: list[Tetherd] = []
        self.procs: list[subprocess.Popen] = []
        self.fw: Netns | None = None
        self.mgmt_addr: str | None = None

    def netns(self, role: str) -> Netns:
        name = f"tn{self.pid}{role[:2]}{self.n}"
        assert len(name) <= 30
        sh(["ip", "netns", "add", name])
        ns = Netns(name)
        self.namespaces.append(ns)
        ns.run("ip link set lo up")
        return ns

    def veth(self, na: Netns, a: str, nb: Netns, b: str, up: bool = True):
        sh(["ip", "link", "add", a, "netns", na.name, "type", "veth", "peer", "name", b, "netns", nb.name])
        if up:
            na.run(f"ip link set {a} up")
            nb.run(f"ip link set {b} up")

    def management(self, fw: Netns) -> str:
        """Veth host<->fw with a free /30 of 198.19.255.0/24; returns the fw-side address."""
        host_if = f"tn{self.pid}h{self.n}"
        assert len(host_if) <= 15, host_if
        used = _used_host_addrs()
        start = (self.pid * 7 + self.n) % 64
        for k in range(64):
            sub = list(MGMT_NET.subnets(new_prefix=30))[(start + k) % 64]
            h, f = sub[1], sub[2]
            if h not in used and f not in used:
                break
        else:
            raise RuntimeError("no free /30 in 198.19.255.0/24")
        sh(["ip", "link", "add", host_if, "type", "veth", "peer", "name", "mgmt0", "netns", fw.name])
        self.host_veths.append(host_if)
        sh(["ip", "addr", "add", f"{h}/30", "dev", host_if])
        sh(["ip", "link", "set", host_if, "up"])
        fw.run(f"ip addr add {f}/30 dev mgmt0 && ip link set mgmt0 up")
        self.mgmt_addr = str(f)
        # wait for carrier on both ends (tetherd binds the address; gRPC retries the connect)
        wait_for(lambda: link_is_up(fw.link("mgmt0")), 5, what="management veth up")
        return str(f)

    def start_tetherd(self, fw: Netns) -> Tetherd:
        assert self.mgmt_addr, "call management() first"
        d = Tetherd(fw, f"{self.mgmt_addr}:{GNMI_PORT}", self.tmp_path / "data")
        self.daemons.append(d)
        return d

    def spawn(self, ns: Netns, argv: list[str], **kw) -> subprocess.Popen:
        p = subprocess.Popen(ns.cmd(*argv), **kw)
        self.procs.append(p)
        return p

    def cleanup(self):
        for d in self.daemons:
            try:
                d.kill()
            except Exception:  # noqa: BLE001
                pass
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            try:
                p.wait(5)
            except Exception:  # noqa: BLE001
                pass
        for ns in self.namespaces:
            r = subprocess.run(["ip", "netns", "pids", ns.name], capture_output=True, text=True)
            for pid in r.stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
        for ns in reversed(self.namespaces):
            for _ in range(20):
                if subprocess.run(["ip", "netns", "del", ns.name], capture_output=True).returncode == 0:
                    break
                if ns.name not in sh(["ip", "netns", "list"], check=False):
                    break
                time.sleep(0.1)
        for v in self.host_veths:
            # normally gone with its peer's namespace
            subprocess.run(["ip", "link", "del", v], capture_output=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    setattr(item, "rep_" + rep.when, rep)
    return rep


@pytest.fixture
def lab(tmp_path, request):
    lab = Lab(tmp_path)
    try:
        yield lab
    finally:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            for i, d in enumerate(lab.daemons):
                print(f"---- tetherd #{i} log (last 60 lines) ----\n" + "\n".join(d.log[-60:]))
        lab.cleanup()
        left = [ns.name for ns in lab.namespaces if ns.name in sh(["ip", "netns", "list"], check=False).split()]
        assert not left, f"namespaces left behind: {left}"


# ---- gNMI ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def stubs(tmp_path_factory):
    return gnmi_stubs.generate(tmp_path_factory.mktemp("gnmi_stubs"))


class Gnmi:
    """Set/Get over a fresh channel to a tetherd address."""

    def __init__(self, stubs, addr: str):
        import grpc

        self.pb, self._grpc_mod = stubs
        self.channel = grpc.insecure_channel(addr)
        grpc.channel_ready_future(self.channel).result(timeout=15)
        self.stub = self._grpc_mod.gNMIStub(self.channel)

    def close(self):
        self.channel.close()

    def path(self, text: str):
        return paths.path(self.pb, text)

    def update(self, *pairs, replace=False):
        pb = self.pb
        ups = [pb.Update(path=self.path(p), val=pb.TypedValue(json_ietf_val=json.dumps(v).encode())) for p, v in pairs]
        req = pb.SetRequest(replace=ups) if replace else pb.SetRequest(update=ups)
        return self.stub.Set(req, timeout=30)

    def delete(self, *paths):
        return self.stub.Set(self.pb.SetRequest(delete=[self.path(p) for p in paths]), timeout=30)

    def get(self, p: str, dtype: str = "ALL"):
        pb = self.pb
        req = pb.GetRequest(path=[self.path(p)], encoding=pb.JSON_IETF, type=getattr(pb.GetRequest, dtype))
        r = self.stub.Get(req, timeout=10)
        vals = [json.loads(u.val.json_ietf_val) if u.val.json_ietf_val else json.loads(u.val.json_val or b"null")
                for n in r.notification for u in n.update]
        return vals[0] if len(vals) == 1 else vals


@pytest.fixture
def connect(stubs):
    made = []

    def _connect(addr: str) -> Gnmi:
        g = Gnmi(stubs, addr)
        made.append(g)
        return g

    yield _connect
    for g in made:
        g.close()


def wait_for(pred, timeout: float, interval: float = 0.02, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = pred()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def _host_snapshot():
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    # Another test process's links (tn<its pid>...) come and go on their own schedule.
    ours = f"tn{os.getpid()}"
    links = {
        l["ifname"]
        for l in json.loads(sh(["ip", "-j", "link", "show"]))
        if not l["ifname"].startswith("tn") or l["ifname"].startswith(ours)
    }
    return tables, links


@pytest.fixture(autouse=True)
def host_untouched(request):
    """The host namespace ends each test as it began: same nft tables, same set of links."""
    tables0, links0 = _host_snapshot()
    yield
    tables1, links1 = _host_snapshot()
    assert tables1 == tables0, f"host nft tables changed:\n{tables0}\n->\n{tables1}"
    assert links1 == links0, f"host links changed: +{links1 - links0} -{links0 - links1}"
