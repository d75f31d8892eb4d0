//! Wiring: schema, datastore, state tree and the gNMI server; graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tether_dataplane::{ClockMode, Dataplane, SimDataplane};
use tether_dataplane_linux::{LinuxConfig, LinuxDataplane};
use tether_gnmi::{GnmiOptions, GnmiService, Users};
use tether_model::{Schema, SchemaOptions};
use tether_store::{SledStore, Store, StoreOptions};
use tether_telemetry::StateTree;
use tether_worker::Worker;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tracing::{error, info, warn};

use crate::config::{DataplaneKind, Settings, SimClock, Transport};
use crate::notify::notify;
use crate::signals::{Asked, Signals};
use crate::tls::{ReloadableTls, TlsFiles};

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
            info!(file = %p.display(), users = u.len(), "authentication on (SIGHUP re-reads the file)");
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
            actions: Some(worker.actions()),
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
            users: users.clone(),
            subscriber_queue: settings.subscriber_queue,
            locks: locks.clone(),
            limits: settings.limits,
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

    let mut tls = None;
    let scheme = match &settings.transport {
        Transport::Tls { cert, key, ca } => {
            tls = Some(Arc::new(ReloadableTls::load(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: ca.clone(),
            })?));
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
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.listen))?;
    let local = listener.local_addr().context("reading the bound address")?;

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let mut signals = Signals::install();
    let router = Server::builder()
        .layer(crate::wire_status::WireStatusLayer)
        .layer(guard)
        .add_service(gnmi.clone().into_server())
        .add_service(tether_admin::service(store.clone() as Arc<dyn Store>))
        .add_service(tether_admin::link_state_service(worker.actions()))
        .add_optional_service(simulator)
        .add_service(reflection)
        .add_service(reflection_alpha)
        .add_service(health_service);
    let stop = async {
        let _ = stop_rx.await;
    };
    let mut server = match &tls {
        Some(tls) => tokio::spawn(
            router.serve_with_incoming_shutdown(crate::tls::incoming(listener, tls.clone()), stop),
        ),
        None => tokio::spawn(router.serve_with_incoming_shutdown(
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            stop,
        )),
    };
    info!(address = %local, transport = scheme, "listening on {local}");
    let status = format!("STATUS=listening on {local}\n");
    notify(&format!("READY=1\n{status}"));
    let watchdog = crate::notify::watchdog_period().map(|period| {
        info!(
            ?period,
            "systemd watchdog on: WATCHDOG=1 while the worker loop answers"
        );
        let worker = Arc::clone(&worker);
        tokio::spawn(crate::notify::watchdog(
            period,
            move || {
                let worker = Arc::clone(&worker);
                async move { worker.alive().await.is_ok() }
            },
            notify,
        ))
    });

    loop {
        tokio::select! {
            r = &mut server => {
                store.close();
                return match r {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(anyhow::anyhow!("gNMI server failed: {e}")),
                    Err(e) => Err(anyhow::anyhow!("gNMI server task failed: {e}")),
                };
            }
            asked = signals.recv() => match asked {
                Asked::Reload => {
                    notify("RELOADING=1\n");
                    reload(users.as_deref().zip(settings.users.as_deref()), tls.as_deref());
                    notify(&format!("READY=1\n{status}"));
                }
                Asked::Stop(signal) => {
                    info!("{signal}: draining");
                    notify("STOPPING=1\n");
                    break;
                }
            }
        }
    }
    if let Some(w) = watchdog {
        w.abort();
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

/// SIGHUP: the users file and the TLS files are read again; what cannot be read or is
/// invalid keeps what is in force (logged as an error), so a typo never locks everyone out
/// or takes the port down. Open connections and streams are not touched: their caller was
/// authenticated and their TLS session negotiated when they began.
fn reload(users: Option<(&Users, &std::path::Path)>, tls: Option<&ReloadableTls>) {
    info!("SIGHUP: reloading the users file and TLS certificates");
    if let Some((users, path)) = users {
        match users.reload(path) {
            Ok(n) => info!(file = %path.display(), users = n, "users file reloaded"),
            Err(e) => error!("{e}; the users in force stay"),
        }
    }
    if let Some(tls) = tls {
        match tls.reload() {
            Ok(()) => info!("TLS certificates reloaded: new connections use them"),
            Err(e) => error!("{e:#}; the TLS certificates in force stay"),
        }
    }
    info!("SIGHUP: reload done");
}
