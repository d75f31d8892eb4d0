//! NETCONF beside gNMI in the integration tests: the client of `netconf_client.rs` and where
//! a test's tetherd serves NETCONF.

pub use super::netconf_client::*;

/// The NETCONF address `d` logged (`NETCONF over SSH serving on ADDR`).
pub async fn address(d: &super::Daemon) -> String {
    const SERVING: &str = "NETCONF over SSH serving on ";
    let line = d.wait_log(SERVING, 1).await.remove(0);
    let at = line.find(SERVING).unwrap_or(0) + SERVING.len();
    line[at..]
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}
