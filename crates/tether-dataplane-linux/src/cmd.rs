//! Running `nft` and `conntrack`, optionally inside a named network namespace (`ip netns exec`).
//!
//! The installer talks to the kernel only through [`Kernel`], so that the same installer code
//! runs against [`crate::model::NftModel`] (an interpreter of the nft text Tether writes) in
//! the differential tests that need no root.

use std::io::Write as _;
use std::process::{Command, Stdio};

use crate::error::LinuxError;

/// How to run the userspace tools.
#[derive(Debug, Clone)]
pub struct Tools {
    pub nft: String,
    pub conntrack: String,
    /// A namespace under `/run/netns`, or the current one.
    pub netns: Option<String>,
}

/// Where nft transactions and conntrack queries go: the real tools ([`Tools`]) or a model.
pub trait Kernel {
    /// `nft -f -` with `script`: one atomic transaction.
    fn nft_apply(&self, script: &str) -> Result<(), LinuxError>;
    /// `nft args…`, returning stdout.
    fn nft(&self, args: &[&str]) -> Result<String, LinuxError>;
    /// `conntrack args…`, returning stdout.
    fn conntrack(&self, args: &[&str]) -> Result<String, LinuxError>;
    /// The text of `/proc/net/nf_conntrack` of the dataplane's namespace, when readable.
    fn conntrack_proc(&self) -> Option<String>;
}

impl Kernel for Tools {
    fn nft_apply(&self, script: &str) -> Result<(), LinuxError> {
        Tools::nft_apply(self, script)
    }
    fn nft(&self, args: &[&str]) -> Result<String, LinuxError> {
        Tools::nft(self, args)
    }
    fn conntrack(&self, args: &[&str]) -> Result<String, LinuxError> {
        Tools::conntrack(self, args)
    }
    fn conntrack_proc(&self) -> Option<String> {
        const PROC: &str = "/proc/net/nf_conntrack";
        match &self.netns {
            None => std::fs::read_to_string(PROC).ok(),
            Some(_) => self.run("cat", &[PROC], None).ok(),
        }
    }
}

impl Tools {
    pub(crate) fn command(&self, program: &str) -> Command {
        match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, program]);
                c
            }
            None => Command::new(program),
        }
    }

    /// Runs `program args` with `stdin`, returns stdout; a non-zero exit is an error with stderr.
    pub fn run(
        &self,
        program: &str,
        args: &[&str],
        stdin: Option<&str>,
    ) -> Result<String, LinuxError> {
        let mut cmd = self.command(program);
        cmd.args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let what = format!("{program} {}", args.join(" "));
        let mut child = cmd.spawn().map_err(|e| LinuxError::Spawn {
            command: what.clone(),
            source: e,
        })?;
        if let Some(input) = stdin
            && let Some(mut pipe) = child.stdin.take()
        {
            pipe.write_all(input.as_bytes())
                .map_err(|e| LinuxError::Spawn {
                    command: what.clone(),
                    source: e,
                })?;
        }
        let out = child.wait_with_output().map_err(|e| LinuxError::Spawn {
            command: what.clone(),
            source: e,
        })?;
        if !out.status.success() {
            return Err(LinuxError::Command {
                command: what,
                status: out.status.code(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `nft -f -` with `script`: one atomic transaction.
    pub fn nft_apply(&self, script: &str) -> Result<(), LinuxError> {
        let nft = self.nft.clone();
        self.run(&nft, &["-f", "-"], Some(script)).map(drop)
    }

    pub fn nft(&self, args: &[&str]) -> Result<String, LinuxError> {
        let nft = self.nft.clone();
        self.run(&nft, args, None)
    }

    pub fn conntrack(&self, args: &[&str]) -> Result<String, LinuxError> {
        let ct = self.conntrack.clone();
        self.run(&ct, args, None)
    }
}
