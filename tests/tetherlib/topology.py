"""Namespace topologies described as data (tests/topology/*.json), built by a lab that knows
how to make namespaces and veths. The Rust namespace tests
(crates/tether-dataplane-linux/tests/common/topo.rs) read the same files, so both suites test
the same wiring."""

from __future__ import annotations

import json
import subprocess

from . import REPO

TOPOLOGIES = REPO / "tests" / "topology"


def load(name: str) -> dict:
    return json.loads((TOPOLOGIES / f"{name}.json").read_text())


class Bypass:
    """The reference bypass topology. `lab` provides `netns(role)`, `veth(na, a, nb, b)` and
    `spawn(ns, argv, **popen)`; each namespace object has `run(cmd)`. Namespaces are
    attributes named as in the file (`site`, `fw`, `dc`)."""

    def __init__(self, lab, name: str = "bypass"):
        self.lab = lab
        self.spec = load(name)
        self.hosts = self.spec["hosts"]
        self.ns = {role: lab.netns(role) for role in self.spec["namespaces"]}
        for role, ns in self.ns.items():
            setattr(self, role, ns)
        for a_ns, a, b_ns, b in self.spec["links"]:
            lab.veth(self.ns[a_ns], a, self.ns[b_ns], b)
        self._run(self.spec["setup"])
        self.path(self.spec["start"])

    def _run(self, steps) -> None:
        for role, cmd in steps:
            self.ns[role].run(cmd.format(**self.hosts))

    def path(self, name: str) -> None:
        """Routes site <-> dc over `fibre` or `mpls` (as the file defines them)."""
        self._run(self.spec["paths"][name])

    def via_fibre(self) -> None:
        self.path("fibre")

    def via_mpls(self) -> None:
        """Cuts the fibre; both directions now cross the firewall, which never saw the handshake."""
        self.path("mpls")

    def server(self, *ports: int):
        """The echo server in dc on `ports`; returns once it listens."""
        p = self.lab.spawn(
            self.dc,
            ["python3", str(TOPOLOGIES / "echo_server.py"), self.hosts["server"], *map(str, ports)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert p.stdout.readline().strip() == "ready"
        return p

    def client(self, port: int, timeout: float = 2) -> "Client":
        """A connected echo client in site (source: the client host address)."""
        argv = [
            "python3", str(TOPOLOGIES / "echo_client.py"),
            self.hosts["client"], self.hosts["server"], str(port), str(timeout),
        ]
        p = self.lab.spawn(self.site, argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        line = p.stdout.readline().strip()
        assert line == "connected", f"client could not connect on port {port}: {line!r}"
        return Client(p)


class Client:
    def __init__(self, p):
        self.p = p

    def exchange(self) -> bool:
        """Sends 100 bytes and waits (the client's timeout at most) for the echo."""
        self.p.stdin.write("go\n")
        self.p.stdin.flush()
        return self.p.stdout.readline().strip() == "ok"

    def close(self) -> None:
        self.p.kill()
        self.p.wait(5)
