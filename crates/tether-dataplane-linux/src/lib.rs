//! Tether's Linux dataplane: nftables for TCP state bypass, rtnetlink for link state.
//!
//! # TCP state bypass (nftables)
//!
//! One `inet tether` table, owned by Tether and changed only with `nft -f -` text transactions
//! (text, because nft 1.0.6's JSON input drops the ct timeout policy). Other tables are never read
//! or written. The table carries the default stateful policy (established/related accept, invalid
//! drop, a new TCP connection must start with a SYN) in the same forward base chain as the bypass
//! rules, bypass first, because an accept ends only its own base chain (DESIGN §3). See
//! [`render`](crate::render) for the layout and the proof that runs of same-action entries in
//! sets keep first-match semantics, deny entries included.
//!
//! Bypass method: **ct timeout** (DESIGN §3 option b), not notrack. A bypass class's first packet,
//! in any TCP state, builds a conntrack entry with a `ct timeout` object whose every TCP state
//! (established, unack and retrans included) is the class's idle timeout, and a `ct mark`
//! naming the class (`0x7e` in the top byte, the class id below; `0x7f` for ordinary classes). So
//! the kernel expires bypass connections after their idle timeout like the ASA's `b` flag, Tether
//! counts them from conntrack, and every later packet of the connection is checked again against
//! the class's access-list (`ct mark vmap`), both directions, as the simulator does. That is
//! bypass mode `full`. Mode `syn-check` builds an ordinary entry from a packet that is not a
//! SYN (conntrack's mid-stream pickup) with a ct timeout object that holds only the
//! established states to the idle timeout, so FIN/RST and invalid packets are handled as
//! usual. Mode `stateless` is DESIGN §3 option (a): `notrack` in a raw-priority prerouting
//! chain that repeats the policy's first match, and an accept of `ct state untracked` behind
//! the class's access-list in the forward chain.
//!
//! Updates never reset live connections' timers: when only set elements differ the install adds
//! and deletes elements in place; otherwise chains and sets are rebuilt in one transaction while the
//! ct timeout objects (which live entries point to) and the counters are kept. Bypass entries the
//! new program would no longer build with the same class are then deleted from conntrack (the
//! simulator's "flushed"); a bypass connection whose class only changed its timeout is deleted too
//! and rebuilt with the new timeout by its next packet (bypass accepts mid-flow packets).
//!
//! # Link state (rtnetlink)
//!
//! See [`link`](crate::link): an initial dump, `RTNLGRP_LINK` notifications, and a 10 ms
//! `RTM_GETLINK` poll of `IFF_LOWER_UP`, because the kernel holds back carrier-down notifications
//! (about one per second host-wide). Tether's disable is protodown where the driver has it (macvlan,
//! vxlan, most physical NICs), with Tether's own protodown reason bit so other daemons' protodown
//! is left alone, and admin down otherwise; admin downs are recorded in a file so a
//! restart re-enables exactly those.

mod cmd;
mod conntrack;
mod error;
mod link;
#[cfg(any(test, feature = "model"))]
pub mod model;
mod nft;
pub mod render;
mod teardowns;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tether_dataplane::{
    BypassCounters, BypassProgram, ClassCounters, ConnectionEntry, ConnectionState, Dataplane,
    DataplaneError, DataplaneEvent, DataplaneKind, DisableMethod, EVENT_CHANNEL_CAPACITY,
    InterfaceStatus, TeardownReason, default_idle_timeout, wall_clock_ns,
};
use tokio::sync::{broadcast, mpsc};
use tracing::{info, info_span, warn};

use crate::cmd::Tools;
use crate::conntrack::CtEntry;
pub use crate::error::LinuxError;
use crate::link::{Command, LinkShared};
pub use crate::nft::ApplyKind;
use crate::nft::Installer;
/// The installer and the kernel interface it talks through, for the differential tests that
/// run it against [`model::NftModel`] (feature `model`).
#[cfg(any(test, feature = "model"))]
pub mod offline {
    pub use crate::cmd::Kernel;
    pub use crate::nft::{Flushed, Installer};
}
use crate::render::{ClassInfo, RenderOptions};

/// Refuses what this dataplane cannot enforce, so a program is never installed with part of
/// it silently left out: `embryonic-conn-max`. nftables can only count embryonic connections
/// in a dynamic set of `size N` whose ids are deleted once established, and the kernel frees a
/// deleted element's slot only at the set's garbage collection (measured here: about 1 s, one
/// SYN retransmission), so the next connection would be refused while the class is below its
/// limit.
fn refuse_unsupported(program: &BypassProgram) -> Result<(), DataplaneError> {
    for (policy, p) in &program.policies {
        if let Some(c) = p
            .classes
            .iter()
            .find(|c| c.limits.embryonic_conn_max.is_some())
        {
            tracing::error!(
                policy,
                class = c.name,
                "embryonic-conn-max is not supported by the Linux dataplane"
            );
            return Err(DataplaneError::Unsupported(
                "embryonic-conn-max (the Linux dataplane cannot count embryonic connections exactly)",
            ));
        }
    }
    Ok(())
}

/// How long `set_tether_disabled` waits for the netlink thread.
const NETLINK_TIMEOUT: Duration = Duration::from_secs(5);

/// Settings of [`LinuxDataplane`].
#[derive(Debug, Clone)]
pub struct LinuxConfig {
    /// Run inside this network namespace (a name under `/run/netns`) instead of the daemon's own:
    /// netlink sockets are opened there and `nft`/`conntrack` run under `ip netns exec`.
    pub netns: Option<String>,
    /// The `RTM_GETLINK` poll interval (`None`: notifications only, ~1 s carrier-down latency
    /// when several links drop).
    pub carrier_poll: Option<Duration>,
    /// Where to record the interfaces Tether took admin down (drivers without protodown), so a
    /// restarted daemon re-enables exactly those. `None`: kept in memory only.
    pub admin_down_record: Option<PathBuf>,
    /// Install the default stateful policy with the bypass rules (needed on a box with no other
    /// firewall).
    pub stateful_policy: bool,
    pub nft: String,
    pub conntrack: String,
}

impl Default for LinuxConfig {
    fn default() -> Self {
        Self {
            netns: None,
            carrier_poll: Some(Duration::from_millis(10)),
            admin_down_record: None,
            stateful_policy: true,
            nft: "nft".into(),
            conntrack: "conntrack".into(),
        }
    }
}

/// An interface whose reverse-path filter would drop the asymmetric return traffic bypass exists
/// for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpFilterWarning {
    pub interface: String,
    /// Effective value: the larger of `all` and the interface's (1 strict, 2 loose).
    pub rp_filter: u8,
}

#[derive(Debug, Default)]
struct BypassState {
    installer: Installer,
    flushed_total: u64,
    /// (policy, class) → bypass entries flushed by installs.
    flushed: BTreeMap<(String, String), u64>,
    rp_filter: Vec<RpFilterWarning>,
    last_apply: Option<ApplyKind>,
    teardowns: teardowns::Teardowns,
}

/// The Linux dataplane. Create it once per namespace; share it as `Arc<dyn Dataplane>`.
pub struct LinuxDataplane {
    tools: Tools,
    link: Arc<LinkShared>,
    commands: mpsc::UnboundedSender<Command>,
    bypass: Mutex<BypassState>,
    events: broadcast::Sender<DataplaneEvent>,
    /// conntrack DESTROY events for Tether's marks, and the `conntrack -E` that prints them.
    ct_queue: Arc<teardowns::Queue>,
    ct_events: Mutex<Option<std::process::Child>>,
}

impl Drop for LinuxDataplane {
    fn drop(&mut self) {
        let child = self.ct_events.get_mut().map(Option::take);
        if let Ok(Some(mut c)) = child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl std::fmt::Debug for LinuxDataplane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinuxDataplane")
            .field("netns", &self.tools.netns)
            .finish()
    }
}

impl LinuxDataplane {
    /// Starts the netlink thread (initial link dump done when this returns) and checks that `nft`
    /// runs. Installs nothing: the table appears with the first [`Dataplane::install_bypass`].
    pub fn new(config: LinuxConfig) -> Result<Self, DataplaneError> {
        let _span = info_span!("linux.new", netns = config.netns.as_deref()).entered();
        let tools = Tools {
            nft: config.nft.clone(),
            conntrack: config.conntrack.clone(),
            netns: config.netns.clone(),
        };
        tools
            .nft(&["--version"])
            .map_err(|e| e.into_dataplane("checking nft"))?;
        let (events, _) = broadcast::channel(EVENT_CHANNEL_CAPACITY);
        let link = Arc::new(LinkShared::new(
            events.clone(),
            config.admin_down_record.clone(),
        ));
        let (commands, _thread) =
            link::start(link.clone(), config.netns.clone(), config.carrier_poll)
                .map_err(|e| e.into_dataplane("starting the netlink monitor"))?;
        let ct_queue = Arc::new(teardowns::Queue::default());
        let ct_events = teardowns::start(&tools, ct_queue.clone());
        let mut bypass = BypassState {
            installer: Installer::new(RenderOptions {
                stateful_policy: config.stateful_policy,
            }),
            ..Default::default()
        };
        bypass.teardowns.live = ct_events.is_some();
        info!(netns = config.netns.as_deref(), "Linux dataplane ready");
        Ok(Self {
            tools,
            link,
            commands,
            bypass: Mutex::new(bypass),
            events,
            ct_queue,
            ct_events: Mutex::new(ct_events),
        })
    }

    fn lock(&self) -> MutexGuard<'_, BypassState> {
        self.bypass.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Interfaces whose `rp_filter` is strict although they receive bypass traffic (checked at
    /// each install; each also logged as a WARN).
    pub fn rp_filter_warnings(&self) -> Vec<RpFilterWarning> {
        self.lock().rp_filter.clone()
    }

    /// How the last install was applied (in place or rebuilt).
    pub fn last_apply(&self) -> Option<ApplyKind> {
        self.lock().last_apply
    }

    /// The program installed last, if any.
    pub fn installed_program(&self) -> Option<BypassProgram> {
        self.lock()
            .installer
            .installed
            .as_ref()
            .map(|(p, _)| p.clone())
    }

    /// Checks the kernel's table against what Tether installed (chains, sets, objects, base
    /// rules); on a difference reinstalls the program (rebuilding, live timers kept) and returns
    /// `Ok(true)`. For the worker's drift repair.
    pub fn repair_drift(&self) -> Result<bool, DataplaneError> {
        let _span = info_span!("linux.repair_drift").entered();
        let program = {
            let st = self.lock();
            let ok = st
                .installer
                .verify(&self.tools)
                .map_err(|e| e.into_dataplane("checking the nft table"))?;
            if ok {
                return Ok(false);
            }
            st.installer.installed.as_ref().map(|(p, _)| p.clone())
        };
        let Some(program) = program else {
            return Ok(false);
        };
        warn!("the nft table differs from what Tether installed; reinstalling");
        self.lock().installer.forget();
        self.install_bypass(&program)?;
        // If the ct timeout objects were deleted, the kernel detached them from live entries
        // (which fell back to its default timeouts) and cannot re-attach them: delete the bypass
        // entries so their next packet, accepted mid-flow, rebuilds them with the class's timeout.
        let entries = conntrack::list_tagged(&self.tools)
            .map_err(|e| e.into_dataplane("reading conntrack"))?;
        for e in entries.iter().filter(|e| e.bypass()) {
            conntrack::delete(&self.tools, e)
                .map_err(|e| e.into_dataplane("deleting a conntrack entry"))?;
        }
        Ok(true)
    }

    /// Deletes the `inet tether` table (and forgets the program). Live bypass connections fall
    /// back to the kernel's default timeouts.
    pub fn remove_table(&self) -> Result<(), DataplaneError> {
        let mut st = self.lock();
        nft::delete_table(&self.tools).map_err(|e| e.into_dataplane("deleting the nft table"))?;
        st.installer.forget();
        Ok(())
    }

    fn check_rp_filter(&self, program: &BypassProgram) -> Vec<RpFilterWarning> {
        let interfaces: Vec<String> = if program.global_policy.is_some() {
            self.link
                .interfaces()
                .into_iter()
                .map(|i| i.name)
                .filter(|n| n != "lo")
                .collect()
        } else {
            program.service_policies.keys().cloned().collect()
        };
        if interfaces.is_empty() {
            return Vec::new();
        }
        // One read for all of them (one process in a namespace): `all` first, then each interface.
        let names: Vec<String> = std::iter::once("all".to_string())
            .chain(interfaces.iter().cloned())
            .collect();
        let values: BTreeMap<String, u8> = match &self.tools.netns {
            None => names
                .iter()
                .filter_map(|n| {
                    let v =
                        std::fs::read_to_string(format!("/proc/sys/net/ipv4/conf/{n}/rp_filter"))
                            .ok()?;
                    Some((n.clone(), v.trim().parse().ok()?))
                })
                .collect(),
            Some(_) => {
                let script = names
                    .iter()
                    .map(|n| {
                        format!("echo {n} $(cat /proc/sys/net/ipv4/conf/{n}/rp_filter 2>/dev/null)")
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                self.tools
                    .run("sh", &["-c", &script], None)
                    .unwrap_or_default()
                    .lines()
                    .filter_map(|l| {
                        let (n, v) = l.split_once(' ')?;
                        Some((n.to_string(), v.trim().parse().ok()?))
                    })
                    .collect()
            }
        };
        let read = |iface: &str| values.get(iface).copied();
        let all = read("all").unwrap_or(0);
        let mut out = Vec::new();
        for iface in interfaces {
            let Some(v) = read(&iface) else { continue };
            let effective = all.max(v);
            if effective == 1 {
                warn!(
                    interface = iface,
                    rp_filter = effective,
                    "strict reverse-path filtering drops asymmetric return traffic before the bypass sees it: set net.ipv4.conf.all.rp_filter and net.ipv4.conf.{iface}.rp_filter to 0 (or 2 if the sources are routable)"
                );
                out.push(RpFilterWarning {
                    interface: iface,
                    rp_filter: effective,
                });
            }
        }
        out
    }

    /// Validates, renders and applies the program in one transaction (as a delta when `delta`
    /// allows it), then announces the bypass entries it flushed.
    fn apply_bypass(
        &self,
        program: &BypassProgram,
        delta: Option<&tether_dataplane::ProgramDelta>,
    ) -> Result<(), DataplaneError> {
        let span = info_span!(
            "linux.install_bypass",
            kind = tracing::field::Empty,
            flushed = tracing::field::Empty
        );
        let _g = span.enter();
        program.validate()?;
        refuse_unsupported(program)?;
        let mut st = self.lock();
        let (kind, flushed) = st
            .installer
            .update(&self.tools, program, delta)
            .map_err(|e| e.into_dataplane("installing the bypass program"))?;
        span.record("kind", format!("{kind:?}"));
        span.record("flushed", flushed.len());
        let deleted = std::mem::take(&mut st.installer.deleted);
        st.teardowns.deleted_by_tether(deleted);
        if kind == ApplyKind::Rebuild {
            // Interfaces and policies change only with the structure.
            st.rp_filter = self.check_rp_filter(program);
        }
        st.last_apply = Some(kind);
        let now = wall_clock_ns();
        st.flushed_total += flushed.len() as u64;
        let mut events = Vec::new();
        for (e, class) in &flushed {
            if let Some(c) = class {
                *st.flushed
                    .entry((c.policy.clone(), c.class.clone()))
                    .or_default() += 1;
            }
            let mut connection = self.to_connection(e, class.as_ref(), now);
            connection.state = ConnectionState::Closed;
            events.push(DataplaneEvent::ConnectionClosed {
                connection,
                reason: TeardownReason::Flushed,
                at_ns: now,
            });
        }
        drop(st);
        info!(?kind, flushed = flushed.len(), "bypass program installed");
        for e in events {
            let _ = self.events.send(e);
        }
        let _ = self.events.send(DataplaneEvent::ProgramInstalled {
            at_ns: now,
            flushed: flushed.len() as u64,
        });
        Ok(())
    }

    fn class_of(&self, classes: &[ClassInfo], e: &CtEntry) -> Option<ClassInfo> {
        classes.iter().find(|c| c.id == e.class_id()).cloned()
    }

    fn to_connection(&self, e: &CtEntry, class: Option<&ClassInfo>, now: u64) -> ConnectionEntry {
        let idle = class.map_or(default_idle_timeout(e.protocol), |c| {
            Duration::from_secs(u64::from(c.timeout_secs))
        });
        let expires_ns = now.saturating_add(e.timeout_secs.saturating_mul(1_000_000_000));
        let last_seen_ns =
            expires_ns.saturating_sub(u64::try_from(idle.as_nanos()).unwrap_or(u64::MAX));
        ConnectionEntry {
            id: e.id,
            protocol: e.protocol,
            originator: std::net::SocketAddr::new(e.src, e.sport),
            responder: std::net::SocketAddr::new(e.dst, e.dport),
            // conntrack does not keep the ingress interface.
            ingress_interface: Arc::from(""),
            bypass: e.bypass(),
            policy: class.map(|c| Arc::from(c.policy.as_str())),
            class: class.map(|c| Arc::from(c.class.as_str())),
            state: match e.state.as_deref() {
                Some("SYN_SENT" | "SYN_RECV") if !e.bypass() => ConnectionState::Embryonic,
                Some("FIN_WAIT" | "CLOSE_WAIT" | "LAST_ACK" | "TIME_WAIT") if !e.bypass() => {
                    ConnectionState::Closing
                }
                _ => ConnectionState::Established,
            },
            idle_timeout: idle,
            embryonic_timeout: class
                .and_then(|c| c.embryonic_secs)
                .map_or(tether_dataplane::EMBRYONIC_TIMEOUT, |s| {
                    Duration::from_secs(u64::from(s))
                }),
            half_closed_timeout: class
                .and_then(|c| c.half_closed_secs)
                .map(|s| Duration::from_secs(u64::from(s))),
            // conntrack has no creation time without nf_conntrack_timestamp.
            built_ns: last_seen_ns,
            last_seen_ns,
            expires_ns,
            packets: e.packets,
            bytes: e.bytes,
            fin_from_originator: false,
            fin_from_responder: false,
        }
    }
}

impl Dataplane for LinuxDataplane {
    fn kind(&self) -> DataplaneKind {
        DataplaneKind::Linux
    }

    fn repair_drift(&self) -> Result<bool, DataplaneError> {
        LinuxDataplane::repair_drift(self)
    }

    fn warnings(&self) -> Vec<String> {
        self.rp_filter_warnings()
            .into_iter()
            .map(|w| {
                format!(
                    "rp_filter={} on {}: strict reverse-path filtering drops asymmetric return traffic that bypass is meant to pass; set it to 0 or 2",
                    w.rp_filter, w.interface
                )
            })
            .collect()
    }

    fn interfaces(&self) -> Result<Vec<InterfaceStatus>, DataplaneError> {
        Ok(self.link.interfaces())
    }

    fn subscribe(&self) -> broadcast::Receiver<DataplaneEvent> {
        self.events.subscribe()
    }

    fn set_tether_disabled(
        &self,
        name: &str,
        disabled: bool,
    ) -> Result<DisableMethod, DataplaneError> {
        let (reply, rx) = std::sync::mpsc::channel();
        self.commands
            .send(Command::SetDisabled {
                name: name.to_string(),
                disabled,
                reply,
            })
            .map_err(|_| LinuxError::Stopped.into_dataplane("set_tether_disabled"))?;
        match rx.recv_timeout(NETLINK_TIMEOUT) {
            Ok(r) => r.map_err(|e| e.into_dataplane("set_tether_disabled")),
            Err(_) => Err(LinuxError::Stopped.into_dataplane("set_tether_disabled")),
        }
    }

    /// Validates, renders and applies the program in one transaction (in place when only set
    /// elements changed). Bypass entries the new program would not build again with the same class
    /// are deleted from conntrack and announced as `ConnectionClosed { reason: Flushed }`.
    fn install_bypass(&self, program: &BypassProgram) -> Result<(), DataplaneError> {
        self.apply_bypass(program, None)
    }

    /// Only the set elements of the entries `delta` names, in one `nft -f` transaction, when
    /// the rest of the table stays as it is (`render::incremental`); else as `install_bypass`.
    fn update_bypass(
        &self,
        program: &BypassProgram,
        delta: &tether_dataplane::ProgramDelta,
    ) -> Result<(), DataplaneError> {
        self.apply_bypass(program, Some(delta))
    }

    /// Class counters from the table's named counters and conntrack. Teardowns come from
    /// conntrack's DESTROY events (`teardowns`: idle and FIN/RST per class, Tether's own
    /// flushes told apart); only when `conntrack -E` cannot run, `torn_down_idle` of a `full`
    /// bypass class is derived (built − current − flushed: a bypass entry ends only by its timeout or a
    /// flush); `torn_down_fin_rst` and ordinary classes' teardowns are not tracked (0). Access-list
    /// entry hits come from the sets' per-element counters: exact for entries alone in their run,
    /// approximate (the kernel picks one overlapping element) inside a run of overlapping entries.
    fn bypass_counters(&self) -> Result<BypassCounters, DataplaneError> {
        let mut st = self.lock();
        st.teardowns.drain(&self.ct_queue);
        let st = st;
        let Some((_, rendered)) = &st.installer.installed else {
            return Ok(BypassCounters {
                flushed_total: st.flushed_total,
                ..Default::default()
            });
        };
        let counters = nft::read_counters(&self.tools)
            .map_err(|e| e.into_dataplane("reading nft counters"))?;
        let entries = conntrack::list_tagged(&self.tools)
            .map_err(|e| e.into_dataplane("reading conntrack"))?;
        let get = |n: String| counters.get(&n).copied().unwrap_or_default();
        let events = |mark: u32| st.teardowns.by_mark.get(&mark).copied().unwrap_or_default();
        let mut classes = Vec::new();
        for c in &rendered.classes {
            let (mp, mb) = get(format!("m_{:06x}", c.id));
            let (built_b, _) = get(format!("b_{:06x}", c.id));
            let (built_n, _) = get(format!("n_{:06x}", c.id));
            let bypass_current =
                entries.iter().filter(|e| e.mark == c.bypass_mark()).count() as u64;
            let other_current = entries
                .iter()
                .filter(|e| e.mark == c.classified_mark())
                .count() as u64;
            let flushed = st
                .flushed
                .get(&(c.policy.clone(), c.class.clone()))
                .copied()
                .unwrap_or(0);
            classes.push(ClassCounters {
                policy: c.policy.clone(),
                class: c.class.clone(),
                matched_packets: mp,
                matched_bytes: mb,
                bypass_current,
                bypass_built: built_b,
                connections_current: bypass_current + other_current,
                connections_built: built_b + built_n,
                // From conntrack's DESTROY events; without them, derived for a `full` class
                // (its entries end by their timeout alone) and not tracked for the others.
                torn_down_idle: if st.teardowns.live {
                    events(c.bypass_mark()).idle + events(c.classified_mark()).idle
                } else if c.mode == tether_dataplane::BypassMode::Full {
                    built_b
                        .saturating_sub(bypass_current)
                        .saturating_sub(flushed)
                } else {
                    0
                },
                torn_down_fin_rst: events(c.classified_mark()).fin_rst,
                torn_down_flushed: flushed,
                refused_conn_max: get(format!("l_{:06x}", c.id)).0,
                refused_embryonic_conn_max: 0,
            });
        }
        classes.sort_by(|a, b| (&a.policy, &a.class).cmp(&(&b.policy, &b.class)));
        let acl_entries = nft::read_element_counters(&self.tools, rendered)
            .map_err(|e| e.into_dataplane("reading nft set counters"))?;
        Ok(BypassCounters {
            acl_entries,
            classes,
            flushed_total: st.flushed_total,
        })
    }

    /// The conntrack entries Tether's classes built (bypass ones only if `bypass_only`); the
    /// host's other entries are not listed (a router's table can hold millions). `id` is
    /// conntrack's; `ingress_interface` is empty (conntrack does not keep it); `built_ns` is not
    /// known and reported as the last-seen estimate.
    fn connections(&self, bypass_only: bool) -> Result<Vec<ConnectionEntry>, DataplaneError> {
        let classes = self
            .lock()
            .installer
            .installed
            .as_ref()
            .map(|(_, r)| r.classes.clone())
            .unwrap_or_default();
        let entries = conntrack::list_tagged(&self.tools)
            .map_err(|e| e.into_dataplane("reading conntrack"))?;
        let now = wall_clock_ns();
        let mut out: Vec<ConnectionEntry> = entries
            .iter()
            .filter(|e| !bypass_only || e.bypass())
            .map(|e| self.to_connection(e, self.class_of(&classes, e).as_ref(), now))
            .collect();
        out.sort_by_key(|e| e.id);
        Ok(out)
    }

    fn now_ns(&self) -> u64 {
        wall_clock_ns()
    }
}
