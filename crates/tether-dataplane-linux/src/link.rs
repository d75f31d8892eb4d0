//! Link state over rtnetlink, on a thread of its own with a current-thread tokio runtime.
//!
//! Three inputs keep the interface table current:
//! - an initial `RTM_GETLINK` dump;
//! - the `RTNLGRP_LINK` multicast group, used as a *trigger* only: each notification makes the
//!   thread query that link afresh, so a notification the kernel delayed (it rate-limits carrier
//!   changes, DESIGN §3) can never roll the table back to an older state;
//! - a dump every `poll` interval (10 ms by default): `IFF_LOWER_UP` is read live by the dump, so a
//!   carrier loss is seen within one interval even while the notification is held back.
//!
//! Every change is compared with the table and broadcast as a [`DataplaneEvent`]. Renames are
//! reported as the removal of the old name and the addition of the new one (the worker keys
//! interfaces by name); deletions as removals.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::StreamExt;
use rtnetlink::packet_core::NetlinkPayload;
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::link::{
    LinkAttribute, LinkFlags, LinkMessage, LinkProtocolDownReason,
};
use rtnetlink::{Handle, LinkUnspec, MulticastGroup};
use serde::{Deserialize, Serialize};
use tether_dataplane::{
    DataplaneEvent, DisableMethod, InterfaceCounters, InterfaceStatus, wall_clock_ns,
};
use tokio::sync::{broadcast, mpsc};
use tracing::{Instrument as _, debug, info, info_span, warn};

use crate::error::LinuxError;

const EOPNOTSUPP: i32 = 95;

/// Tether's bit in `IFLA_PROTO_DOWN_REASON` (`ip link set X protodown_reason 6 on`; name it in
/// `/etc/iproute2/protodown_reasons.d/tether.conf` as `6 tether`). Tether sets and clears only
/// this bit, and clears protodown itself only when no other reason is left, so it coexists
/// with other daemons that use protodown (the kernel refuses to clear protodown while a reason
/// is active: EBUSY). A protodown with no reason at all (a kernel without reasons, or a tool
/// that sets none) is taken as Tether's, as before reasons existed.
pub const PROTODOWN_REASON: u32 = 1 << 6;
const ENODEV: i32 = 19;

/// One kernel link as the table holds it.
#[derive(Debug, Clone)]
struct Link {
    status: InterfaceStatus,
    /// `IFLA_PROTO_DOWN` as read.
    protodown: bool,
    /// `IFLA_PROTO_DOWN_REASON` value as read (0 when the kernel reports none).
    protodown_reason: u32,
    /// `IFF_UP` as read (the status reports the operator's state instead while Tether holds the
    /// interface admin down).
    raw_admin_up: bool,
}

/// Interfaces Tether took admin down (drivers without protodown), persisted so a restart can undo
/// exactly those and never an interface an operator shut.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct AdminDownRecord {
    /// Name → whether Tether changed the admin state (false: it was already down, leave it down).
    interfaces: BTreeMap<String, bool>,
}

pub(crate) struct LinkTable {
    links: BTreeMap<u32, Link>,
    admin_down: AdminDownRecord,
    record_path: Option<PathBuf>,
    /// Names whose driver refused protodown, so the next disable goes straight to admin down.
    no_protodown: BTreeSet<String>,
}

pub(crate) struct LinkShared {
    table: Mutex<LinkTable>,
    pub events: broadcast::Sender<DataplaneEvent>,
}

impl LinkShared {
    pub fn new(events: broadcast::Sender<DataplaneEvent>, record_path: Option<PathBuf>) -> Self {
        let admin_down = record_path
            .as_ref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Self {
            table: Mutex::new(LinkTable {
                links: BTreeMap::new(),
                admin_down,
                record_path,
                no_protodown: BTreeSet::new(),
            }),
            events,
        }
    }

    fn lock(&self) -> MutexGuard<'_, LinkTable> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn interfaces(&self) -> Vec<InterfaceStatus> {
        let mut v: Vec<InterfaceStatus> = self
            .lock()
            .links
            .values()
            .map(|l| l.status.clone())
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    fn emit(&self, events: Vec<DataplaneEvent>) {
        for e in events {
            let _ = self.events.send(e);
        }
    }

    /// Applies a full dump: updates, additions and removals.
    fn apply_dump(&self, msgs: &[LinkMessage], announce: bool) {
        let now = wall_clock_ns();
        let mut table = self.lock();
        let mut events = Vec::new();
        let seen: BTreeSet<u32> = msgs.iter().map(|m| m.header.index).collect();
        for m in msgs {
            table.observe(m, now, &mut events);
        }
        let gone: Vec<u32> = table
            .links
            .keys()
            .filter(|i| !seen.contains(i))
            .copied()
            .collect();
        for i in gone {
            table.remove(i, now, &mut events);
        }
        drop(table);
        if announce {
            self.emit(events);
        }
    }

    fn apply_one(&self, m: &LinkMessage) {
        let mut events = Vec::new();
        self.lock().observe(m, wall_clock_ns(), &mut events);
        self.emit(events);
    }

    fn apply_removed(&self, index: u32) {
        let mut events = Vec::new();
        self.lock().remove(index, wall_clock_ns(), &mut events);
        self.emit(events);
    }

    fn index_of(&self, name: &str) -> Option<(u32, bool, bool)> {
        self.lock()
            .links
            .iter()
            .find(|(_, l)| l.status.name == name)
            .map(|(i, l)| (*i, l.protodown, l.raw_admin_up))
    }

    fn protodown_reason_of(&self, index: u32) -> u32 {
        self.lock()
            .links
            .get(&index)
            .map_or(0, |l| l.protodown_reason)
    }
}

impl LinkTable {
    fn observe(&mut self, m: &LinkMessage, now: u64, events: &mut Vec<DataplaneEvent>) {
        let index = m.header.index;
        let mut name = None;
        let mut protodown = false;
        let mut reason = 0u32;
        let mut counters = InterfaceCounters::default();
        let mut carrier_changes = None;
        for a in &m.attributes {
            match a {
                LinkAttribute::IfName(n) => name = Some(n.clone()),
                LinkAttribute::ProtoDown(p) => protodown = *p != 0,
                LinkAttribute::ProtoDownReason(r) => {
                    for x in r {
                        if let LinkProtocolDownReason::Value(v) = x {
                            reason = *v;
                        }
                    }
                }
                LinkAttribute::CarrierChanges(c) => carrier_changes = Some(u64::from(*c)),
                LinkAttribute::Stats64(s) => {
                    counters = InterfaceCounters {
                        in_packets: s.rx_packets,
                        in_bytes: s.rx_bytes,
                        out_packets: s.tx_packets,
                        out_bytes: s.tx_bytes,
                        in_dropped: s.rx_dropped,
                    }
                }
                _ => {}
            }
        }
        let Some(name) = name else { return };
        let raw_admin_up = m.header.flags.contains(LinkFlags::Up);
        let carrier = m.header.flags.contains(LinkFlags::LowerUp);
        let held = self.admin_down.interfaces.contains_key(&name);
        // While Tether holds it admin down, report the operator's state (up, unless it was
        // already down when Tether took it).
        let admin_up = if held {
            self.admin_down
                .interfaces
                .get(&name)
                .copied()
                .unwrap_or(false)
                || raw_admin_up
        } else {
            raw_admin_up
        };
        // Held but up again means someone undid Tether's admin down: report it as not
        // disabled, so the worker sees the drift and disables it again.
        // Protodown is Tether's when its reason bit is set (or no reason is, see
        // PROTODOWN_REASON); another daemon's protodown keeps the link down without being
        // Tether's disable.
        let ours = protodown && (reason == 0 || reason & PROTODOWN_REASON != 0);
        let disabled = ours || (held && !raw_admin_up);
        let other_protodown = protodown && !ours;
        let oper_up =
            InterfaceStatus::derive_oper_up(admin_up, carrier, disabled) && !other_protodown;
        match self.links.get_mut(&index) {
            Some(l) if l.status.name != name => {
                // Renamed: the worker knows interfaces by name.
                let old = l.status.name.clone();
                debug!(ifindex = index, from = old, to = name, "interface renamed");
                if let Some(v) = self.admin_down.interfaces.remove(&old) {
                    self.admin_down.interfaces.insert(name.clone(), v);
                    self.persist();
                }
                self.remove(index, now, events);
                self.observe(m, now, events);
            }
            Some(l) => {
                let before = l.status.clone();
                let s = &mut l.status;
                s.admin_up = admin_up;
                s.carrier = carrier;
                s.disabled_by_tether = disabled;
                s.oper_up = oper_up;
                s.counters = counters;
                if carrier != before.carrier {
                    s.carrier_transitions =
                        carrier_changes.unwrap_or(before.carrier_transitions + 1);
                }
                if oper_up != before.oper_up {
                    s.last_change_ns = now;
                }
                l.protodown = ours;
                l.protodown_reason = reason;
                l.raw_admin_up = raw_admin_up;
                let changed = (before.admin_up, before.carrier, before.disabled_by_tether)
                    != (admin_up, carrier, disabled);
                if changed {
                    debug!(
                        interface = name,
                        admin_up, carrier, disabled, oper_up, "interface changed"
                    );
                    events.push(DataplaneEvent::InterfaceChanged(l.status.clone()));
                }
            }
            None => {
                let status = InterfaceStatus {
                    name: name.clone(),
                    ifindex: index,
                    admin_up,
                    carrier,
                    disabled_by_tether: disabled,
                    oper_up,
                    last_change_ns: now,
                    carrier_transitions: carrier_changes.unwrap_or(0),
                    counters,
                };
                debug!(interface = name, ifindex = index, "interface added");
                events.push(DataplaneEvent::InterfaceAdded(status.clone()));
                self.links.insert(
                    index,
                    Link {
                        status,
                        protodown: ours,
                        protodown_reason: reason,
                        raw_admin_up,
                    },
                );
            }
        }
    }

    fn remove(&mut self, index: u32, now: u64, events: &mut Vec<DataplaneEvent>) {
        if let Some(l) = self.links.remove(&index) {
            debug!(
                interface = l.status.name,
                ifindex = index,
                "interface removed"
            );
            events.push(DataplaneEvent::InterfaceRemoved {
                name: l.status.name,
                ifindex: index,
                at_ns: now,
            });
        }
    }

    fn persist(&self) {
        let Some(path) = &self.record_path else {
            return;
        };
        let write = || -> std::io::Result<()> {
            let tmp = path.with_extension("tmp");
            let bytes =
                serde_json::to_vec_pretty(&self.admin_down).map_err(std::io::Error::other)?;
            std::fs::write(&tmp, bytes)?;
            File::open(&tmp)?.sync_all()?;
            std::fs::rename(&tmp, path)?;
            if let Some(dir) = path.parent() {
                let _ = File::open(dir).and_then(|d| d.sync_all());
            }
            Ok(())
        };
        if let Err(e) = write() {
            warn!(path = %path.display(), error = %e, "cannot persist Tether's admin-down record");
        }
    }
}

pub(crate) enum Command {
    SetDisabled {
        name: String,
        disabled: bool,
        reply: std::sync::mpsc::Sender<Result<DisableMethod, LinuxError>>,
    },
}

/// Starts the netlink thread; returns once the initial dump is in the table.
pub(crate) fn start(
    shared: Arc<LinkShared>,
    netns: Option<String>,
    poll: Option<Duration>,
) -> Result<(mpsc::UnboundedSender<Command>, std::thread::JoinHandle<()>), LinuxError> {
    let (tx, rx) = mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("tether-netlink".into())
        .spawn(move || {
            let result = enter_netns(netns.as_deref()).and_then(|()| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(LinuxError::Io)
            });
            match result {
                Ok(rt) => rt.block_on(run(shared, rx, ready_tx, poll)),
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            }
        })?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok((tx, thread)),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(LinuxError::Stopped),
    }
}

/// Moves this thread (only) into the named namespace, so the sockets it opens live there.
fn enter_netns(netns: Option<&str>) -> Result<(), LinuxError> {
    let Some(name) = netns else { return Ok(()) };
    let path = format!("/run/netns/{name}");
    let file = File::open(&path).map_err(|e| LinuxError::Netns {
        name: name.to_string(),
        detail: e.to_string(),
    })?;
    nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| LinuxError::Netns {
        name: name.to_string(),
        detail: e.to_string(),
    })
}

fn nl_err(e: rtnetlink::Error) -> LinuxError {
    LinuxError::Netlink(e.to_string())
}

fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => Some(m.raw_code().abs()),
        _ => None,
    }
}

async fn dump(handle: &Handle) -> Result<Vec<LinkMessage>, LinuxError> {
    let mut stream = handle.link().get().execute();
    let mut out = Vec::new();
    while let Some(m) = stream.next().await {
        out.push(m.map_err(nl_err)?);
    }
    Ok(out)
}

/// The current state of one link, `None` if it no longer exists.
async fn get_one(handle: &Handle, index: u32) -> Result<Option<LinkMessage>, LinuxError> {
    let mut stream = handle.link().get().match_index(index).execute();
    match stream.next().await {
        Some(Ok(m)) => Ok(Some(m)),
        Some(Err(e)) if errno(&e) == Some(ENODEV) => Ok(None),
        Some(Err(e)) => Err(nl_err(e)),
        None => Ok(None),
    }
}

async fn run(
    shared: Arc<LinkShared>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    ready: std::sync::mpsc::Sender<Result<(), LinuxError>>,
    poll: Option<Duration>,
) {
    let setup = async {
        let (conn, handle, _) = rtnetlink::new_connection().map_err(LinuxError::Io)?;
        tokio::spawn(conn);
        let (mconn, _mhandle, messages) =
            rtnetlink::new_multicast_connection(&[MulticastGroup::Link]).map_err(LinuxError::Io)?;
        tokio::spawn(mconn);
        let links = dump(&handle).await?;
        shared.apply_dump(&links, false);
        Ok::<_, LinuxError>((handle, messages))
    };
    let (handle, mut messages) = match setup.await {
        Ok(v) => {
            let _ = ready.send(Ok(()));
            v
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    info!(
        poll_ms = poll.map(|p| p.as_millis()),
        "netlink link monitor running"
    );
    let mut tick = tokio::time::interval(poll.unwrap_or(Duration::from_secs(3600)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failures = 0u32;
    let mut multicast_open = true;
    loop {
        tokio::select! {
            biased;
            cmd = commands.recv() => match cmd {
                Some(Command::SetDisabled { name, disabled, reply }) => {
                    let span = info_span!("netlink.set_disabled", interface = name, disabled);
                    let r = set_disabled(&shared, &handle, &name, disabled).instrument(span).await;
                    let _ = reply.send(r);
                }
                None => break,
            },
            msg = messages.next(), if multicast_open => match msg {
                Some((msg, _)) => {
                    if let NetlinkPayload::InnerMessage(m) = msg.payload {
                        let index = match &m {
                            RouteNetlinkMessage::NewLink(l) | RouteNetlinkMessage::DelLink(l) => Some(l.header.index),
                            _ => None,
                        };
                        if let Some(index) = index {
                            match get_one(&handle, index).await {
                                Ok(Some(l)) => shared.apply_one(&l),
                                Ok(None) => shared.apply_removed(index),
                                Err(e) => warn!(error = %e, "cannot read a link after a notification"),
                            }
                        }
                    }
                }
                None => {
                    warn!("the netlink multicast socket closed; relying on the poll");
                    multicast_open = false;
                }
            },
            _ = tick.tick(), if poll.is_some() => match dump(&handle).await {
                Ok(links) => {
                    failures = 0;
                    shared.apply_dump(&links, true);
                }
                Err(e) => {
                    failures += 1;
                    if failures.is_power_of_two() {
                        warn!(error = %e, failures, "link poll failed");
                    }
                }
            },
        }
    }
    debug!("netlink thread stopping");
}

/// Sets (`down`) or clears Tether's protodown: its reason bit with the flag; on clearing, the
/// flag only when no other daemon's reason is left (`reasons`: the link's reasons as read).
/// A kernel that takes no reasons gets the plain flag.
async fn set_protodown(
    handle: &Handle,
    index: u32,
    down: bool,
    reasons: u32,
) -> Result<(), rtnetlink::Error> {
    let others = reasons & !PROTODOWN_REASON;
    let mut msg = if down || others == 0 {
        LinkUnspec::new_with_index(index).protodown(down).build()
    } else {
        LinkUnspec::new_with_index(index).build()
    };
    msg.attributes.push(LinkAttribute::ProtoDownReason(vec![
        LinkProtocolDownReason::Mask(PROTODOWN_REASON),
        LinkProtocolDownReason::Value(if down { PROTODOWN_REASON } else { 0 }),
    ]));
    match set_link(handle, msg).await {
        Ok(()) => Ok(()),
        Err(e) if errno(&e) == Some(EOPNOTSUPP) => Err(e),
        Err(e) => {
            debug!(error = %e, "protodown with a reason refused; setting the flag alone");
            set_link(
                handle,
                LinkUnspec::new_with_index(index).protodown(down).build(),
            )
            .await
        }
    }
}

async fn set_link(handle: &Handle, msg: LinkMessage) -> Result<(), rtnetlink::Error> {
    handle.link().set(msg).execute().await
}

async fn set_disabled(
    shared: &LinkShared,
    handle: &Handle,
    name: &str,
    disabled: bool,
) -> Result<DisableMethod, LinuxError> {
    let Some((index, _, _)) = shared.index_of(name) else {
        return Err(LinuxError::UnknownInterface(name.to_string()));
    };
    // Decide on the kernel's state now, not the table's (which may be one poll behind an
    // operator's `ip link set down` a moment ago).
    let Some(fresh) = get_one(handle, index).await? else {
        shared.apply_removed(index);
        return Err(LinuxError::UnknownInterface(name.to_string()));
    };
    shared.apply_one(&fresh);
    let Some((index, protodown, raw_admin_up)) = shared.index_of(name) else {
        return Err(LinuxError::UnknownInterface(name.to_string()));
    };
    let held = shared.lock().admin_down.interfaces.get(name).copied();
    let method = if disabled {
        let try_protodown = !shared.lock().no_protodown.contains(name) && held.is_none();
        let mut method = DisableMethod::AdminDown;
        if try_protodown {
            if protodown {
                method = DisableMethod::Protodown;
            } else {
                match set_protodown(handle, index, true, shared.protodown_reason_of(index)).await {
                    Ok(()) => method = DisableMethod::Protodown,
                    Err(e) if errno(&e) == Some(EOPNOTSUPP) => {
                        info!(
                            interface = name,
                            "no protodown on this driver; using admin down"
                        );
                        shared.lock().no_protodown.insert(name.to_string());
                    }
                    Err(e) => return Err(nl_err(e)),
                }
            }
        }
        if method == DisableMethod::AdminDown && held.is_some() && raw_admin_up {
            // Something brought up an interface Tether holds down (drift): down again.
            set_link(handle, LinkUnspec::new_with_index(index).down().build())
                .await
                .map_err(nl_err)?;
        }
        if method == DisableMethod::AdminDown && held.is_none() {
            // Record first, then act: remember whether Tether changes it (an interface the
            // operator had shut stays shut). A crash between the two leaves a record of a change
            // not made, which the next enable undoes harmlessly; the other order could leave an
            // interface Tether shut with no record, which no restart would bring back.
            {
                let mut t = shared.lock();
                t.admin_down
                    .interfaces
                    .insert(name.to_string(), raw_admin_up);
                t.persist();
            }
            if raw_admin_up {
                set_link(handle, LinkUnspec::new_with_index(index).down().build())
                    .await
                    .map_err(nl_err)?;
            }
        }
        method
    } else {
        let mut method = DisableMethod::Protodown;
        if protodown {
            set_protodown(handle, index, false, shared.protodown_reason_of(index))
                .await
                .map_err(nl_err)?;
        }
        if let Some(changed) = held {
            method = DisableMethod::AdminDown;
            if changed {
                set_link(handle, LinkUnspec::new_with_index(index).up().build())
                    .await
                    .map_err(nl_err)?;
            }
            let mut t = shared.lock();
            t.admin_down.interfaces.remove(name);
            t.persist();
        }
        method
    };
    // Read it back now so the table and the event follow the change at once.
    match get_one(handle, index).await? {
        Some(l) => shared.apply_one(&l),
        None => shared.apply_removed(index),
    }
    Ok(method)
}
