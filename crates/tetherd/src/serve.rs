//! Wiring: schema, datastore, state tree and the gNMI server; graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tether_dataplane::{ClockMode, Dataplane, SimDataplane};
use tether_dataplane_linux::{LinuxConfig, LinuxDataplane};
use tether_gnmi::{GnmiOptions, GnmiService, TlsFiles, Users};
use tether_model::{Schema, SchemaOptions};
use tether_store::{SledStore, Store, StoreOptions};
use tether_telemetry::StateTree;
use tether_worker::Worker;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tracing::{info, warn};

use crate::config::{DataplaneKind, Settings, SimClock, Transport};

/// On the real-time sim clock, how often connections past their idle timeout are removed (and
/// announced): the ASA's idle timeouts count in seconds, so a tenth of one is ample.
const SIM_EXPIRY_TICK: Duration = Duration::from_millis(100);

/// How long open RPCs get to finish after SIGTERM before the daemon exits anyway.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let schema = Schema::load(SchemaOptions {
        simulation: settings.dataplane == DataplaneKind::Sim,
    })
    .context("loading the YANG schema")?;
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("creating data directory {}", settings.data_dir.display()))?;
    let store = Arc::new(
        SledStore::open(schema, StoreOptions::new(&settings.data_dir))
            .with_context(|| format!("opening the datastore in {}", settings.data_dir.display()))?,
    );
    info!(data_dir = %settings.data_dir.display(), last_commit = store.last_commit_id().unwrap_or(0), "datastore open");
    let state = Arc::new(StateTree::new());

    // The dataplane and the worker that reconciles the datastore onto it.
    let (dataplane, sim): (Arc<dyn Dataplane>, Option<Arc<SimDataplane>>) = match settings.dataplane
    {
        DataplaneKind::Sim => {
            let mode = match settings.sim_clock {
                SimClock::Real => ClockMode::Real,
                SimClock::Manual => ClockMode::Manual,
            };
            let sim = Arc::new(SimDataplane::with_mode(mode));
            info!(clock = ?mode, "sim dataplane");
            if mode == ClockMode::Real {
                tokio::spawn(expire_sim_connections(Arc::clone(&sim)));
            }
            (sim.clone(), Some(sim))
        }
        DataplaneKind::Linux => {
            let linux = LinuxDataplane::new(LinuxConfig {
                admin_down_record: Some(settings.data_dir.join("linux-admin-down.json")),
                ..LinuxConfig::default()
            })
            .context("starting the Linux dataplane (needs CAP_NET_ADMIN, nft and conntrack)")?;
            (Arc::new(linux), None)
        }
    };
    let worker = Worker::start(store.clone() as Arc<dyn Store>, dataplane, state.clone())
        .context("starting the worker")?;
    let worker = Arc::new(worker);
    info!(dataplane = ?settings.dataplane, "worker started");

    let users = match &settings.users {
        Some(p) => {
            let u = Users::load_with(p, settings.auth)?;
            info!(file = %p.display(), users = u.len(), "authentication on");
            Some(Arc::new(u))
        }
        None => {
            info!("no --users file: authentication off, every caller may read and write");
            None
        }
    };
    let guard = crate::guard::GuardLayer::new(users.clone());
    // One lock registry for every northbound: a NETCONF lock on running holds off gNMI too.
    let locks = Arc::new(tether_store::Locks::new());
    let netconf = tether_netconf::NetconfServer::new(
        schema,
        store.clone() as Arc<dyn Store>,
        state.clone(),
        locks.clone(),
        tether_netconf::NetconfOptions {
            users: users.clone(),
            max_sessions: settings.netconf_max_sessions,
            max_message: settings.netconf_max_message,
            ..tether_netconf::NetconfOptions::new(settings.data_dir.join("netconf-host-key"))
        },
    );
    let netconf_listener = tokio::net::TcpListener::bind(settings.netconf_listen)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot listen on {} (NETCONF): {e}",
                settings.netconf_listen
            )
        })?;
    tether_netconf::host_key(&settings.data_dir.join("netconf-host-key"))
        .context("the NETCONF SSH host key")?;
    let netconf_task = {
        let netconf = netconf.clone();
        tokio::spawn(async move {
            if let Err(e) = netconf.serve(netconf_listener).await {
                warn!("NETCONF server stopped: {e}");
            }
        })
    };
    let gnmi = GnmiService::new(
        schema,
        store.clone() as Arc<dyn Store>,
        state.clone(),
        GnmiOptions {
            users,
            subscriber_queue: settings.subscriber_queue,
            locks: locks.clone(),
        },
    );
    // tether.sim.v1.Simulator: packets and the clock of the in-process dataplane (absent with
    // a real one).
    let simulator = sim.map(|sim| {
        let clock_worker = Arc::clone(&worker);
        tether_simulator::service(sim, Arc::new(move || clock_worker.clock_advanced()))
    });
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tether_proto::FILE_DESCRIPTOR_SET)
        .build_v1()
        .context("building the reflection service")?;
    // v1alpha too: Python's grpcio-reflection client and older grpcurl ask for it.
    let reflection_alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(tether_proto::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .context("building the reflection service (v1alpha)")?;

    // grpc.health.v1: "" and gnmi.gNMI report SERVING until the drain starts.
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<tether_proto::gnmi::g_nmi_server::GNmiServer<tether_gnmi::GnmiService>>()
        .await;

    let mut builder = Server::builder();
    let scheme = match &settings.transport {
        Transport::Tls { cert, key, ca } => {
            let files = TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: ca.clone(),
            };
            builder = builder
                .tls_config(files.server_config()?)
                .context("TLS configuration")?;
            if ca.is_some() { "mutual TLS" } else { "TLS" }
        }
        Transport::Insecure => {
            warn!(
                "--insecure: serving plaintext gRPC, credentials and configuration travel in clear"
            );
            "plaintext"
        }
        Transport::LoopbackDefault => {
            warn!(
                "no TLS configured: serving plaintext gRPC on loopback only (give --tls-cert/--tls-key, \
                 or --insecure for plaintext on other addresses)"
            );
            "plaintext"
        }
    };
    let incoming = TcpIncoming::bind(settings.listen)
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.listen))?
        .with_nodelay(Some(true));
    let local = incoming.local_addr().context("reading the bound address")?;

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let mut signals = ShutdownSignals::install();
    let server = builder
        .layer(guard)
        .add_service(gnmi.clone().into_server())
        .add_service(tether_admin::service(store.clone() as Arc<dyn Store>))
        .add_optional_service(simulator)
        .add_service(reflection)
        .add_service(reflection_alpha)
        .add_service(health_service)
        .serve_with_incoming_shutdown(incoming, async {
            let _ = stop_rx.await;
        });
    let mut server = tokio::spawn(server);
    info!(address = %local, transport = scheme, "listening on {local}");
    sd_notify(&format!("READY=1\nSTATUS=listening on {local}\n"));

    tokio::select! {
        r = &mut server => {
            store.close();
            return match r {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(anyhow::anyhow!("gNMI server failed: {e}")),
                Err(e) => Err(anyhow::anyhow!("gNMI server task failed: {e}")),
            };
        }
        signal = signals.recv() => {
            info!("{signal}: draining");
            sd_notify("STOPPING=1\n");
        }
    }
    // Stop accepting, end Subscribe streams, give unary RPCs time to finish.
    health
        .set_not_serving::<tether_proto::gnmi::g_nmi_server::GNmiServer<tether_gnmi::GnmiService>>()
        .await;
    let _ = stop_tx.send(());
    gnmi.shutdown();
    netconf.shutdown();
    let _ = netconf_task.await;
    match tokio::time::timeout(DRAIN_TIMEOUT, &mut server).await {
        Ok(_) => info!("drained"),
        Err(_) => warn!("RPCs still open after {DRAIN_TIMEOUT:?}; exiting anyway"),
    }
    drop(worker);
    store.close();
    info!("stopped");
    Ok(())
}

/// The real-time sim clock's sweeper: idle connections leave the table (and the worker hears
/// `ConnectionClosed`) without anyone stepping the clock. Ends with the runtime.
async fn expire_sim_connections(sim: Arc<SimDataplane>) {
    let mut tick = tokio::time::interval(SIM_EXPIRY_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        sim.expire_due();
    }
}

/// SIGTERM and SIGINT, listened for from the moment this is built: built before the server
/// serves, so a signal that arrives once a client could have seen the daemon answer is always
/// a drain, never the default action (an immediate kill with acknowledged work in flight).
struct ShutdownSignals {
    term: Option<Signal>,
    int: Option<Signal>,
}

impl ShutdownSignals {
    fn install() -> ShutdownSignals {
        let listen = |kind: SignalKind, name: &str| {
            signal(kind)
                .map_err(|e| warn!("cannot listen for {name}: {e}"))
                .ok()
        };
        ShutdownSignals {
            term: listen(SignalKind::terminate(), "SIGTERM"),
            int: listen(SignalKind::interrupt(), "SIGINT"),
        }
    }

    /// The name of the first signal received; pending forever if neither could be installed.
    async fn recv(&mut self) -> &'static str {
        async fn next(s: &mut Option<Signal>) {
            match s {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            _ = next(&mut self.term) => "SIGTERM",
            _ = next(&mut self.int) => "SIGINT",
        }
    }
}

/// Tells systemd (`Type=notify`) that the daemon is ready or stopping: a datagram to
/// `$NOTIFY_SOCKET` (a path, or an abstract name written `@name`). Nothing without systemd.
fn sd_notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let sent = std::os::unix::net::UnixDatagram::unbound().and_then(|s| {
        if let Some(name) = path.as_encoded_bytes().strip_prefix(b"@") {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            s.send_to_addr(state.as_bytes(), &addr)
        } else {
            s.send_to(state.as_bytes(), &path)
        }
    });
    if let Err(e) = sent {
        warn!("cannot notify systemd: {e}");
    }
}
