//! Namespaces, veth pairs and commands for the root-only tests and the bench.
//!
//! Every namespace is named `tt-<pid>-<n>` and deleted when its guard drops (also on panic),
//! which removes its veths too. Addresses come only from 198.18.0.0/15.

#![allow(dead_code)]

use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Whether the tests can run: root, with nft, conntrack and ip.
pub fn can_run() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let tools = ["nft", "conntrack", "ip"].iter().all(|t| {
        Command::new(t)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
            || Command::new(t)
                .arg("-V")
                .output()
                .is_ok_and(|o| o.status.success())
    });
    if !root || !tools {
        eprintln!(
            "skipping: needs root with nft, conntrack and iproute2 (root={root}, tools={tools})"
        );
    }
    root && tools
}

/// A network namespace deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new() -> Self {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let name = format!("tt-{}-{n}", std::process::id());
        sh(&format!("ip netns add {name}"));
        let ns = Netns { name };
        ns.run("ip link set lo up");
        ns
    }

    /// Runs a shell command inside the namespace; panics if it fails.
    pub fn run(&self, cmd: &str) -> String {
        sh(&format!(
            "ip netns exec {} sh -c '{}'",
            self.name,
            cmd.replace('\'', r"'\''")
        ))
    }

    /// Runs a shell command inside the namespace; returns the output whatever the status.
    pub fn try_run(&self, cmd: &str) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name, "sh", "-c", cmd])
            .output()
            .expect("spawn ip netns exec")
    }

    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Kill whatever still runs inside, then delete (veths go with it).
        let _ = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
            .map(|o| {
                for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-9", pid]).status();
                }
            });
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

pub fn sh(cmd: &str) -> String {
    let out = Command::new("sh")
        .args(["-c", cmd])
        .output()
        .expect("spawn sh");
    assert!(
        out.status.success(),
        "{cmd}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A veth pair `a` (in `na`) ↔ `b` (in `nb`), both up.
pub fn veth(na: &Netns, a: &str, nb: &Netns, b: &str) {
    sh(&format!(
        "ip link add {a} netns {} type veth peer name {b} netns {}",
        na.name, nb.name
    ));
    na.run(&format!("ip link set {a} up"));
    nb.run(&format!("ip link set {b} up"));
}
pub mod topo;
