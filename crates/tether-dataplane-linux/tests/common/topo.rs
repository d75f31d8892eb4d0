//! The reference bypass topology: site ↔ dc over a direct "fibre" veth, or over "MPLS" through a
//! firewall namespace `fw` that runs Tether's table.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};

use super::{Netns, veth};

pub const CLIENT: &str = "198.18.0.2";
pub const SERVER: &str = "198.19.0.2";

pub struct Topo {
    pub site: Netns,
    pub fw: Netns,
    pub dc: Netns,
}

const SERVER_PY: &str = r#"
import socket,threading,sys
def echo(c):
    while True:
        d=c.recv(65536)
        if not d: return
        c.sendall(d)
def serve(port):
    ls=socket.socket(); ls.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)
    ls.bind(("198.19.0.2",port)); ls.listen(16)
    while True:
        c,_=ls.accept(); threading.Thread(target=echo,args=(c,),daemon=True).start()
for p in sys.argv[1:]: threading.Thread(target=serve,args=(int(p),),daemon=True).start()
threading.Event().wait()
"#;

const CLIENT_PY: &str = r#"
import socket,sys,time
port=int(sys.argv[1]); s=None
for i in range(100):
    try:
        s=socket.create_connection(("198.19.0.2",port),timeout=2,source_address=("198.18.0.2",0)); break
    except OSError: time.sleep(0.05)
if s is None: print("fail connect",flush=True); sys.exit(1)
s.settimeout(float(sys.argv[2]))
print("connected",flush=True)
for line in sys.stdin:
    try:
        s.sendall(b"x"*100); got=b""
        while len(got)<100:
            d=s.recv(100-len(got))
            if not d: raise OSError("closed")
            got+=d
        print("ok",flush=True)
    except OSError as e:
        print("fail",e,flush=True)
"#;

impl Topo {
    pub fn new() -> Self {
        let (site, fw, dc) = (Netns::new(), Netns::new(), Netns::new());
        veth(&site, "fib0", &dc, "fib1");
        veth(&site, "mp0", &fw, "mp1");
        veth(&fw, "dc0", &dc, "dc1");
        site.run(&format!(
            "ip addr add {CLIENT}/32 dev lo && ip addr add 198.18.10.1/30 dev fib0 && ip addr add 198.18.20.1/30 dev mp0"
        ));
        dc.run(&format!(
            "ip addr add {SERVER}/32 dev lo && ip addr add 198.18.10.2/30 dev fib1 && ip addr add 198.18.30.2/30 dev dc1"
        ));
        fw.run(&format!(
            "ip addr add 198.18.20.2/30 dev mp1 && ip addr add 198.18.30.1/30 dev dc0 && sysctl -qw net.ipv4.ip_forward=1 && ip route add {CLIENT}/32 via 198.18.20.1 && ip route add {SERVER}/32 via 198.18.30.2"
        ));
        let t = Topo { site, fw, dc };
        t.via_fibre();
        t
    }

    pub fn via_fibre(&self) {
        self.site.run("ip link set fib0 up");
        self.dc.run("ip link set fib1 up");
        self.site
            .run(&format!("ip route replace {SERVER}/32 via 198.18.10.2"));
        self.dc
            .run(&format!("ip route replace {CLIENT}/32 via 198.18.10.1"));
    }

    /// Cuts the fibre; both directions now cross the firewall, which never saw the handshake.
    pub fn via_mpls(&self) {
        self.site.run("ip link set fib0 down");
        self.site
            .run(&format!("ip route replace {SERVER}/32 via 198.18.20.2"));
        self.dc
            .run(&format!("ip route replace {CLIENT}/32 via 198.18.30.1"));
    }

    pub fn server(&self, ports: &[u16]) -> Server {
        let mut c = self.dc.command("python3");
        c.arg("-c").arg(SERVER_PY);
        for p in ports {
            c.arg(p.to_string());
        }
        Server(c.stdout(Stdio::null()).spawn().expect("server"))
    }

    pub fn client(&self, port: u16) -> Client {
        let mut child = self
            .site
            .command("python3")
            .args(["-c", CLIENT_PY, &port.to_string(), "2"])
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
