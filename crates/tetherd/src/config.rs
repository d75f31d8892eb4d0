//! `tetherd`'s settings: command-line flags, each also a key of the optional TOML config
//! file (`--config tetherd.toml`). A flag given on the command line wins over the file.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use serde::Deserialize;

/// Which dataplane the daemon drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DataplaneKind {
    /// The in-process simulated dataplane (also turns on the YANG feature `simulation`).
    Sim,
    /// nftables and netlink on this host.
    Linux,
}

/// How the in-process dataplane's clock moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SimClock {
    /// Real time: up-delay, down-delay, idle timeouts and last-change behave as on Linux;
    /// the Simulator's AdvanceClock jumps ahead on top.
    Real,
    /// Frozen until AdvanceClock moves it: deterministic tests and demos.
    Manual,
}

/// Log line format on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    Human,
    Json,
}

/// The Tether daemon: link state tracking and TCP state bypass, driven over gNMI.
#[derive(Debug, Parser, Default)]
#[command(
    name = "tetherd",
    version,
    about = "The Tether daemon: link state tracking and TCP state bypass, driven over gNMI and NETCONF"
)]
pub struct Flags {
    /// TOML file with any of these settings as keys (flags override it).
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// Where the datastore lives [default: ./tether-data].
    #[arg(long, value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// gNMI listen address [default: 127.0.0.1:57400]. Port 0 picks a free port (logged).
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<SocketAddr>,
    /// Serve plaintext gRPC (no TLS) on any address. Lab use only.
    #[arg(long)]
    pub insecure: bool,
    /// Server certificate (PEM).
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// Server private key (PEM).
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// CA for client certificates (PEM): turns on mutual TLS.
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// Users file (TOML, argon2 hashes, roles). Without it, no authentication.
    #[arg(long, value_name = "FILE")]
    pub users: Option<PathBuf>,
    /// Password checks (argon2) running at once; each takes the memory its hash names
    /// [default: 2].
    #[arg(long, value_name = "N")]
    pub auth_workers: Option<usize>,
    /// Password checks that may wait for a worker; one more is answered RESOURCE_EXHAUSTED
    /// [default: 16].
    #[arg(long, value_name = "N")]
    pub auth_queue: Option<usize>,
    /// Delay before the next login for a user or from an address after its first failure,
    /// doubling with each failure in a row [default: 100].
    #[arg(long, value_name = "MS")]
    pub auth_backoff_base_ms: Option<u64>,
    /// The longest such delay [default: 10000].
    #[arg(long, value_name = "MS")]
    pub auth_backoff_max_ms: Option<u64>,
    /// Largest gRPC request message; a bigger one is answered RESOURCE_EXHAUSTED before it is decoded [default: 16777216 (16 MiB)].
    #[arg(long, value_name = "BYTES")]
    pub max_request_bytes: Option<usize>,
    /// Deletes, replaces and updates in one gNMI SetRequest [default: 10000].
    #[arg(long, value_name = "N")]
    pub max_updates_per_set: Option<usize>,
    /// Paths in one gNMI GetRequest [default: 1000].
    #[arg(long, value_name = "N")]
    pub max_paths_per_get: Option<usize>,
    /// Subscriptions in one gNMI SubscriptionList [default: 1000].
    #[arg(long, value_name = "N")]
    pub max_subscriptions_per_stream: Option<usize>,
    /// Subscribe streams one client (peer address) may have open [default: 1024].
    #[arg(long, value_name = "N")]
    pub max_streams_per_client: Option<usize>,
    /// gNMI RPCs, streams included, one client (peer address) may have in progress [default: 2048].
    #[arg(long, value_name = "N")]
    pub max_rpcs_per_client: Option<usize>,
    /// Largest notification in a Get, ONCE or POLL response; bigger ones are split [default: 4128768 (4 MiB - 64 KiB)].
    #[arg(long, value_name = "BYTES")]
    pub max_notification_bytes: Option<usize>,
    /// Dataplane [default: sim].
    #[arg(long, value_enum, global = true)]
    pub dataplane: Option<DataplaneKind>,
    /// Clock of the sim dataplane [default: real]. Only with --dataplane sim.
    #[arg(long, value_enum, value_name = "real|manual")]
    pub sim_clock: Option<SimClock>,
    /// OpenTelemetry OTLP/gRPC endpoint for traces.
    #[arg(long, value_name = "URL")]
    pub otlp_endpoint: Option<String>,
    /// Log format on stderr [default: human].
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
    /// Notifications a Subscribe STREAM may have queued before it is ended with
    /// RESOURCE_EXHAUSTED [default: 1024].
    #[arg(long, value_name = "N")]
    pub subscriber_queue: Option<usize>,
    /// NETCONF over SSH listen address [default: 127.0.0.1:8830]. Port 0 picks a free port
    /// (logged). Without --users only loopback peers are let in.
    #[arg(long, value_name = "ADDR:PORT")]
    pub netconf_listen: Option<SocketAddr>,
    /// Concurrent NETCONF sessions; more are refused [default: 1024].
    #[arg(long, value_name = "N")]
    pub netconf_max_sessions: Option<usize>,
    /// Largest NETCONF message in bytes; a bigger one closes its session [default: 16 MiB].
    #[arg(long, value_name = "BYTES")]
    pub netconf_max_message: Option<usize>,
    /// Instead of serving: a maintenance command.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Maintenance commands, run instead of the daemon.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Verify the datastore in --data-dir offline, as boot does (full validation, snapshot
    /// and commit log against the leaf table, no lost acknowledged commits); exit 0 when it
    /// is sound, 1 with what is wrong otherwise. The daemon must not be running on it.
    Check {
        /// Repair a datastore that fails the check: keep the configuration of the last
        /// good commit (snapshot and log, else the leaf table) and rewrite the rest to match.
        #[arg(long)]
        restore: bool,
    },
    /// Print tetherd's manual page (roff): `tetherd man > tetherd.8`.
    Man,
    /// Print a shell completion script: `tetherd completions bash`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// The config file: the same keys as the flags, kebab-case.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FileSettings {
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
    insecure: Option<bool>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls_ca: Option<PathBuf>,
    users: Option<PathBuf>,
    max_request_bytes: Option<usize>,
    max_updates_per_set: Option<usize>,
    max_paths_per_get: Option<usize>,
    max_subscriptions_per_stream: Option<usize>,
    max_streams_per_client: Option<usize>,
    max_rpcs_per_client: Option<usize>,
    max_notification_bytes: Option<usize>,
    auth_workers: Option<usize>,
    auth_queue: Option<usize>,
    auth_backoff_base_ms: Option<u64>,
    auth_backoff_max_ms: Option<u64>,
    dataplane: Option<DataplaneKind>,
    sim_clock: Option<SimClock>,
    otlp_endpoint: Option<String>,
    log_format: Option<LogFormat>,
    subscriber_queue: Option<usize>,
    netconf_listen: Option<SocketAddr>,
    netconf_max_sessions: Option<usize>,
    netconf_max_message: Option<usize>,
}

/// How the gNMI port is secured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// TLS (mutual when `ca` is set).
    Tls {
        cert: PathBuf,
        key: PathBuf,
        ca: Option<PathBuf>,
    },
    /// Plaintext, asked for with `--insecure`.
    Insecure,
    /// Plaintext on loopback because nothing was configured: the embedded default.
    LoopbackDefault,
}

/// The settings the daemon runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub transport: Transport,
    pub users: Option<PathBuf>,
    pub auth: tether_gnmi::AuthOptions,
    pub limits: tether_gnmi::Limits,
    pub dataplane: DataplaneKind,
    pub sim_clock: SimClock,
    pub otlp_endpoint: Option<String>,
    pub log_format: LogFormat,
    pub subscriber_queue: usize,
    pub netconf_listen: SocketAddr,
    pub netconf_max_sessions: usize,
    pub netconf_max_message: usize,
}

impl Settings {
    /// Merges flags over the config file and checks the combination.
    pub fn resolve(flags: Flags) -> anyhow::Result<Settings> {
        let file = match &flags.config {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading config file {}", p.display()))?;
                toml::from_str::<FileSettings>(&text)
                    .with_context(|| format!("config file {}", p.display()))?
            }
            None => FileSettings::default(),
        };
        let insecure = flags.insecure || file.insecure.unwrap_or(false);
        let cert = flags.tls_cert.or(file.tls_cert);
        let key = flags.tls_key.or(file.tls_key);
        let ca = flags.tls_ca.or(file.tls_ca);
        let listen = flags
            .listen
            .or(file.listen)
            .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 57400)));
        let transport = match (cert, key, insecure) {
            (Some(_), Some(_), true) | (Some(_), None, true) | (None, Some(_), true) => {
                bail!("--insecure cannot be combined with --tls-cert/--tls-key")
            }
            (Some(cert), Some(key), false) => Transport::Tls { cert, key, ca },
            (Some(_), None, false) | (None, Some(_), false) => {
                bail!("TLS needs both --tls-cert and --tls-key")
            }
            (None, None, _) if ca.is_some() => bail!("--tls-ca needs --tls-cert and --tls-key"),
            (None, None, true) => Transport::Insecure,
            (None, None, false) if listen.ip().is_loopback() => Transport::LoopbackDefault,
            (None, None, false) => bail!(
                "refusing to serve plaintext gRPC on {listen}, which is not a loopback address: \
                 give --tls-cert and --tls-key, or --insecure to accept plaintext"
            ),
        };
        let dataplane = flags
            .dataplane
            .or(file.dataplane)
            .unwrap_or(DataplaneKind::Sim);
        let sim_clock = flags.sim_clock.or(file.sim_clock);
        if sim_clock.is_some() && dataplane != DataplaneKind::Sim {
            bail!(
                "--sim-clock applies to --dataplane sim only (the Linux dataplane runs on the host's clock)"
            );
        }
        Ok(Settings {
            data_dir: flags
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("./tether-data")),
            listen,
            transport,
            users: flags.users.or(file.users),
            limits: {
                let d = tether_gnmi::Limits::default();
                tether_gnmi::Limits {
                    max_request_bytes: flags
                        .max_request_bytes
                        .or(file.max_request_bytes)
                        .unwrap_or(d.max_request_bytes),
                    max_updates_per_set: flags
                        .max_updates_per_set
                        .or(file.max_updates_per_set)
                        .unwrap_or(d.max_updates_per_set),
                    max_paths_per_get: flags
                        .max_paths_per_get
                        .or(file.max_paths_per_get)
                        .unwrap_or(d.max_paths_per_get),
                    max_subscriptions_per_stream: flags
                        .max_subscriptions_per_stream
                        .or(file.max_subscriptions_per_stream)
                        .unwrap_or(d.max_subscriptions_per_stream),
                    max_streams_per_client: flags
                        .max_streams_per_client
                        .or(file.max_streams_per_client)
                        .unwrap_or(d.max_streams_per_client),
                    max_rpcs_per_client: flags
                        .max_rpcs_per_client
                        .or(file.max_rpcs_per_client)
                        .unwrap_or(d.max_rpcs_per_client),
                    max_notification_bytes: flags
                        .max_notification_bytes
                        .or(file.max_notification_bytes)
                        .unwrap_or(d.max_notification_bytes),
                }
            },
            auth: {
                let d = tether_gnmi::AuthOptions::default();
                let ms = std::time::Duration::from_millis;
                tether_gnmi::AuthOptions {
                    workers: flags
                        .auth_workers
                        .or(file.auth_workers)
                        .unwrap_or(d.workers),
                    queue: flags.auth_queue.or(file.auth_queue).unwrap_or(d.queue),
                    backoff_base: flags
                        .auth_backoff_base_ms
                        .or(file.auth_backoff_base_ms)
                        .map_or(d.backoff_base, ms),
                    backoff_max: flags
                        .auth_backoff_max_ms
                        .or(file.auth_backoff_max_ms)
                        .map_or(d.backoff_max, ms),
                }
            },
            dataplane,
            sim_clock: sim_clock.unwrap_or(SimClock::Real),
            otlp_endpoint: flags.otlp_endpoint.or(file.otlp_endpoint),
            log_format: flags
                .log_format
                .or(file.log_format)
                .unwrap_or(LogFormat::Human),
            subscriber_queue: flags
                .subscriber_queue
                .or(file.subscriber_queue)
                .unwrap_or(tether_gnmi::DEFAULT_SUBSCRIBER_QUEUE),
            netconf_listen: flags
                .netconf_listen
                .or(file.netconf_listen)
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8830))),
            netconf_max_sessions: flags
                .netconf_max_sessions
                .or(file.netconf_max_sessions)
                .unwrap_or(tether_netconf::DEFAULT_MAX_SESSIONS),
            netconf_max_message: flags
                .netconf_max_message
                .or(file.netconf_max_message)
                .unwrap_or(tether_netconf::DEFAULT_MAX_MESSAGE),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(args: &[&str]) -> Flags {
        Flags::try_parse_from(std::iter::once("tetherd").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn transport_rules() {
        let t = |args: &[&str]| Settings::resolve(flags(args)).map(|s| s.transport);
        assert_eq!(t(&[]).unwrap(), Transport::LoopbackDefault);
        assert_eq!(
            t(&["--listen", "[::1]:57400"]).unwrap(),
            Transport::LoopbackDefault
        );
        assert!(t(&["--listen", "0.0.0.0:57400"]).is_err());
        assert_eq!(
            t(&["--listen", "0.0.0.0:57400", "--insecure"]).unwrap(),
            Transport::Insecure
        );
        assert!(matches!(
            t(&["--tls-cert", "c", "--tls-key", "k"]).unwrap(),
            Transport::Tls { ca: None, .. }
        ));
        assert!(t(&["--tls-cert", "c"]).is_err());
        assert!(t(&["--tls-ca", "c"]).is_err());
        assert!(t(&["--tls-cert", "c", "--tls-key", "k", "--insecure"]).is_err());
    }

    #[test]
    fn sim_clock_is_real_by_default_and_only_for_the_sim() {
        let r = |args: &[&str]| Settings::resolve(flags(args)).map(|s| s.sim_clock);
        assert_eq!(r(&[]).unwrap(), SimClock::Real);
        assert_eq!(r(&["--sim-clock", "manual"]).unwrap(), SimClock::Manual);
        let err = r(&["--dataplane", "linux", "--sim-clock", "real"]).unwrap_err();
        assert!(err.to_string().contains("--dataplane sim only"), "{err}");
        assert!(Flags::try_parse_from(["tetherd", "--sim-clock", "frozen"]).is_err());
    }

    #[test]
    fn file_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("tetherd.toml");
        std::fs::write(
            &f,
            "listen = \"127.0.0.1:1234\"\ndata-dir = \"/tmp/x\"\nlog-format = \"json\"\n",
        )
        .unwrap();
        let s = Settings::resolve(flags(&[
            "--config",
            f.to_str().unwrap(),
            "--data-dir",
            "/tmp/y",
        ]))
        .unwrap();
        assert_eq!(s.listen.port(), 1234);
        assert_eq!(s.data_dir, PathBuf::from("/tmp/y"));
        assert_eq!(s.log_format, LogFormat::Json);
        std::fs::write(&f, "lisen = \"x\"\n").unwrap();
        assert!(Settings::resolve(flags(&["--config", f.to_str().unwrap()])).is_err());
    }
}
