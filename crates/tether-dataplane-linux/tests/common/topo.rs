//! The reference bypass topology: site ↔ dc over a direct "fibre" veth, or over "MPLS" through a
//! firewall namespace `fw` that runs Tether's table, built from tests/topology/bypass.json.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};

use serde::Deserialize;

use super::{Netns, veth};

/// The topology file, shared with the Python namespace tests (tests/tetherlib/topology.py).
const SPEC: &str = include_str!("../../../../tests/topology/bypass.json");
/// The echo programs both suites run in the namespaces.
const ECHO_SERVER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/topology/echo_server.py"
);
const ECHO_CLIENT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/topology/echo_client.py"
);

pub const CLIENT: &str = "198.18.0.2";
pub const SERVER: &str = "198.19.0.2";

/// tests/topology/bypass.json: namespaces, veths as (ns, name, ns, name), and commands as
/// (ns, command) with `{client}` / `{server}` for the host addresses.
#[derive(Deserialize)]
struct Spec {
    hosts: Hosts,
    namespaces: Vec<String>,
    links: Vec<(String, String, String, String)>,
    setup: Vec<(String, String)>,
    paths: BTreeMap<String, Vec<(String, String)>>,
    start: String,
}

#[derive(Deserialize)]
struct Hosts {
    client: String,
    server: String,
}

fn spec() -> Spec {
    let spec: Spec = serde_json::from_str(SPEC).expect("tests/topology/bypass.json parses");
    // The constants name the same hosts for tests that build packets or prefixes from them.
    assert_eq!(
        (spec.hosts.client.as_str(), spec.hosts.server.as_str()),
        (CLIENT, SERVER)
    );
    spec
}

pub struct Topo {
    pub site: Netns,
    pub fw: Netns,
    pub dc: Netns,
    spec: Spec,
}

impl Topo {
    pub fn new() -> Self {
        let spec = spec();
        let mut made: BTreeMap<String, Netns> = spec
            .namespaces
            .iter()
            .map(|n| (n.clone(), Netns::new()))
            .collect();
        for (na, a, nb, b) in &spec.links {
            veth(&made[na], a, &made[nb], b);
        }
        let mut take = |role: &str| made.remove(role).expect("the file names site, fw and dc");
        let t = Topo {
            site: take("site"),
            fw: take("fw"),
            dc: take("dc"),
            spec,
        };
        t.steps(&t.spec.setup);
        t.path(&t.spec.start);
        t
    }

    fn ns(&self, role: &str) -> &Netns {
        match role {
            "site" => &self.site,
            "fw" => &self.fw,
            "dc" => &self.dc,
            other => panic!("tests/topology/bypass.json names an unknown namespace {other:?}"),
        }
    }

    fn steps(&self, steps: &[(String, String)]) {
        for (role, cmd) in steps {
            let cmd = cmd
                .replace("{client}", &self.spec.hosts.client)
                .replace("{server}", &self.spec.hosts.server);
            self.ns(role).run(&cmd);
        }
    }

    /// Routes site ↔ dc over `fibre` or `mpls`, as the file defines them.
    pub fn path(&self, name: &str) {
        let steps = self.spec.paths.get(name).expect("a path of the file");
        self.steps(steps);
    }

    pub fn via_fibre(&self) {
        self.path("fibre");
    }

    /// Cuts the fibre; both directions now cross the firewall, which never saw the handshake.
    pub fn via_mpls(&self) {
        self.path("mpls");
    }

    /// The echo server in dc on `ports`; returns once it listens.
    pub fn server(&self, ports: &[u16]) -> Server {
        let mut c = self.dc.command("python3");
        c.arg(ECHO_SERVER).arg(SERVER);
        for p in ports {
            c.arg(p.to_string());
        }
        let mut child = c.stdout(Stdio::piped()).spawn().expect("server");
        let mut ready = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut ready)
            .expect("read");
        assert_eq!(ready.trim(), "ready", "echo server did not start");
        Server(child)
    }

    pub fn client(&self, port: u16) -> Client {
        let mut child = self
            .site
            .command("python3")
            .args([ECHO_CLIENT, CLIENT, SERVER, &port.to_string(), "2"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("client");
        let stdin = child.stdin.take().expect("stdin");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read");
        assert_eq!(
            line.trim(),
            "connected",
            "client could not connect on port {port}"
        );
        Client {
            child,
            stdin,
            stdout,
        }
    }
}

/// The echo server; killed and reaped on drop.
pub struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub struct Client {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Client {
    /// Sends 100 bytes and waits (2 s at most) for the echo.
    pub fn exchange(&mut self) -> bool {
        writeln!(self.stdin, "go").expect("write");
        self.stdin.flush().expect("flush");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read");
        line.trim() == "ok"
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
