//! The simulated stateful firewall: packet verdicts, idle expiry and program installs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tracing::debug;

use super::program::{ClassRef, Classification, CompiledProgram};
use super::{Connection, SimState};
use crate::classifier::FlowView;
use crate::conntrack::{
    ConnectionEntry, ConnectionState, EMBRYONIC_TIMEOUT, FlowKey, TeardownReason,
    default_idle_timeout, from_originator, socket,
};
use crate::counters::BypassCounters;
use crate::event::DataplaneEvent;
use crate::packet::{IPPROTO_TCP, InjectResult, Packet, Verdict, VerdictReason};
use crate::program::{BypassMode, BypassProgram};

impl SimState {
    pub(super) fn inject(&mut self, packet: &Packet) -> InjectResult {
        let now = self.clock.now_ns();
        let Some(iface) = self.interfaces.get_mut(&packet.ingress_interface) else {
            return verdict(Verdict::Drop, VerdictReason::UnknownInterface, None, None);
        };
        // A down port receives nothing; counting the drop shows the traffic that was lost.
        if !iface.status.oper_up {
            iface.status.counters.in_dropped += 1;
            return verdict(Verdict::Drop, VerdictReason::InterfaceDown, None, None);
        }
        iface.status.counters.in_packets += 1;
        iface.status.counters.in_bytes += u64::from(packet.length);
        let (ingress, policy) = (iface.name.clone(), iface.policy);

        let flow = FlowView::new(
            packet.protocol,
            packet.src,
            packet.dst,
            packet.src_port,
            packet.dst_port,
        );
        let key = FlowKey::of(packet);
        let result = match self.connections.get(&key).map(|c| c.entry.is_expired(now)) {
            Some(false) => self.established(key, packet, &flow, now),
            Some(true) => {
                // Due to expire but no clock step swept it yet (an install shortened its timeout):
                // it is gone, and this packet is judged as a new one.
                self.close(key, TeardownReason::Idle, now);
                self.new_flow(key, ingress, policy, packet, &flow, now)
            }
            None => self.new_flow(key, ingress, policy, packet, &flow, now),
        };
        if result.verdict == Verdict::Drop
            && let Some(iface) = self.interfaces.get_mut(&packet.ingress_interface)
        {
            iface.status.counters.in_dropped += 1;
        }
        result
    }

    /// A packet of an existing connection.
    fn established(
        &mut self,
        key: FlowKey,
        packet: &Packet,
        flow: &FlowView,
        now: u64,
    ) -> InjectResult {
        let Some(conn) = self.connections.get_mut(&key) else {
            return verdict(Verdict::Drop, VerdictReason::NoConnection, None, None);
        };
        let class = conn.class;
        if conn.entry.bypass
            && let Some(r) = class
        {
            // "Bypassed traffic must still be allowed by the ACL": every packet, both directions.
            if !self.program.class_permits(r, flow) {
                let entry = conn.entry.clone();
                return verdict(
                    Verdict::Drop,
                    VerdictReason::AclDeny,
                    Some(entry),
                    class.map(|r| self.names(r)),
                );
            }
            self.program.count_match(r, packet.length);
        }
        let from_orig = from_originator(&conn.entry, packet);
        let closed = conn.entry.account(from_orig, packet, now);
        let entry = conn.entry.clone();
        if let Some(reason) = closed {
            self.close(key, reason, now);
        }
        let names = class.map(|r| self.names(r));
        verdict(
            Verdict::Pass,
            VerdictReason::Established,
            Some(entry),
            names,
        )
    }

    /// A packet without a connection entry: policy, then the stateful rules.
    fn new_flow(
        &mut self,
        key: FlowKey,
        ingress: Arc<str>,
        policy: Option<usize>,
        packet: &Packet,
        flow: &FlowView,
        now: u64,
    ) -> InjectResult {
        let classification = match policy {
            Some(p) => self.program.classify(p, flow, true),
            None => Classification::Unclassified,
        };
        let class = match classification {
            Classification::Denied(r) => {
                return verdict(
                    Verdict::Drop,
                    VerdictReason::AclDeny,
                    None,
                    Some(self.names(r)),
                );
            }
            Classification::Class(r) => {
                self.program.count_match(r, packet.length);
                Some(r)
            }
            Classification::Unclassified => None,
        };
        let names = class.map(|r| self.names(r));
        let tcp = packet.protocol == IPPROTO_TCP;
        // tcp-state-bypass concerns TCP only; for other protocols a bypass class is an ordinary match.
        // A disarmed conditional class holds new connections to state like any other class.
        let mode = class.and_then(|r| {
            let c = self.program.class(r);
            (tcp && c.bypass && c.armed).then_some(c.mode)
        });
        // Only the full mode builds a bypass entry (flag-immune, ACL-checked per packet); a
        // syn-check entry is an ordinary one that did not need a SYN.
        let bypass = mode == Some(BypassMode::Full);
        let (state, reason) = if mode == Some(BypassMode::Stateless) {
            // No entry at all: the access-list's permit (counted above) was the whole judgement.
            return verdict(Verdict::Pass, VerdictReason::Stateless, None, names);
        } else if bypass {
            (ConnectionState::Established, VerdictReason::Bypass)
        } else if mode == Some(BypassMode::SynCheck) && !packet.tcp_flags.is_initial_syn() {
            (ConnectionState::Established, VerdictReason::NoSynCheck)
        } else if !tcp {
            (ConnectionState::Established, VerdictReason::NewFlow)
        } else if packet.tcp_flags.is_initial_syn() {
            (ConnectionState::Embryonic, VerdictReason::NewSyn)
        } else {
            return verdict(Verdict::Drop, VerdictReason::NoConnection, None, names);
        };
        if let Some(r) = class
            && let Some(refused) = self.over_limit(r, state)
        {
            return verdict(Verdict::Drop, refused, None, names);
        }
        let idle_timeout = class.map_or(default_idle_timeout(packet.protocol), |r| {
            self.program.class(r).idle_timeout
        });
        let limits = class
            .map(|r| self.program.class(r).limits)
            .unwrap_or_default();
        let embryonic_timeout = limits
            .embryonic_timeout
            .unwrap_or(EMBRYONIC_TIMEOUT.min(idle_timeout));
        let id = self.next_connection_id;
        self.next_connection_id += 1;
        let (policy_name, class_name) = names.clone().unzip();
        let mut entry = ConnectionEntry {
            id,
            protocol: packet.protocol,
            originator: socket(packet.src, packet.src_port),
            responder: socket(packet.dst, packet.dst_port),
            ingress_interface: ingress,
            bypass,
            policy: policy_name,
            class: class_name,
            state,
            idle_timeout,
            embryonic_timeout,
            half_closed_timeout: limits.half_closed_timeout,
            built_ns: now,
            last_seen_ns: now,
            expires_ns: now,
            packets: 0,
            bytes: 0,
            fin_from_originator: false,
            fin_from_responder: false,
        };
        // The first packet may already close a normal entry (a SYN with nothing else can't, but keep
        // one code path for accounting); a bypass entry is never closed by flags.
        let closed = entry.account(true, packet, now);
        if let Some(r) = class {
            let cells = &mut self.program.class_mut(r).cells;
            cells.connections_built += 1;
            if bypass || reason == VerdictReason::NoSynCheck {
                cells.bypass_built += 1;
            }
        }
        self.connections.insert(
            key,
            Connection {
                entry: entry.clone(),
                class,
            },
        );
        self.most_used = self.most_used.max(self.connections.len());
        if let Some(reason) = closed {
            self.close(key, reason, now);
        }
        verdict(Verdict::Pass, reason, Some(entry), names)
    }

    /// Whether class `r` may not build one more connection (`state`: the new entry's), and
    /// why; counts the refusal. Scans the table only for a class that has a limit.
    fn over_limit(&mut self, r: ClassRef, state: ConnectionState) -> Option<VerdictReason> {
        let limits = self.program.class(r).limits;
        if limits.conn_max.is_none() && limits.embryonic_conn_max.is_none() {
            return None;
        }
        let (mut all, mut embryonic) = (0u64, 0u64);
        for c in self.connections.values().filter(|c| c.class == Some(r)) {
            all += 1;
            embryonic += u64::from(c.entry.state == ConnectionState::Embryonic);
        }
        let cells = &mut self.program.class_mut(r).cells;
        if limits.conn_max.is_some_and(|m| all >= u64::from(m)) {
            cells.refused_conn_max += 1;
            return Some(VerdictReason::ConnLimit);
        }
        if state == ConnectionState::Embryonic
            && limits
                .embryonic_conn_max
                .is_some_and(|m| embryonic >= u64::from(m))
        {
            cells.refused_embryonic_conn_max += 1;
            return Some(VerdictReason::EmbryonicLimit);
        }
        None
    }

    /// Removes an entry, counts its teardown on its class and announces it.
    fn close(&mut self, key: FlowKey, reason: TeardownReason, now: u64) {
        let Some(mut conn) = self.connections.remove(&key) else {
            return;
        };
        if let Some(r) = conn.class {
            self.program.count_teardown(r, reason);
        }
        if reason == TeardownReason::Flushed {
            self.flushed_total += 1;
        }
        conn.entry.state = ConnectionState::Closed;
        self.emit(DataplaneEvent::ConnectionClosed {
            connection: conn.entry,
            reason,
            at_ns: now,
        });
    }

    fn names(&self, r: ClassRef) -> (Arc<str>, Arc<str>) {
        (
            self.program.policy_name(r).clone(),
            self.program.class(r).name.clone(),
        )
    }

    /// Steps the clock and expires what is due. A full scan per step: steps are rare (tests, the
    /// simulator RPC) while packets are many, so packets do not pay to keep an expiry queue ordered.
    pub(super) fn advance(&mut self, by: Duration) -> u64 {
        self.clock.advance(by);
        self.expire_due();
        self.clock.now_ns()
    }

    /// Closes every entry expired by the clock's present reading; returns how many.
    pub(super) fn expire_due(&mut self) -> usize {
        let now = self.clock.now_ns();
        let mut due: Vec<(u64, u64, FlowKey)> = self
            .connections
            .iter()
            .filter(|(_, c)| c.entry.is_expired(now))
            .map(|(k, c)| (c.entry.expires_ns, c.entry.id, *k))
            .collect();
        // Announce in the order they expired, for readable event streams.
        due.sort_unstable_by_key(|d| (d.0, d.1));
        let closed = due.len();
        for (_, _, key) in due {
            self.close(key, TeardownReason::Idle, now);
        }
        closed
    }

    pub(super) fn install(&mut self, source: &BypassProgram) {
        let now = self.clock.now_ns();
        let mut new = CompiledProgram::compile(source);
        new.carry_counters_from(&self.program);
        let old = std::mem::replace(&mut self.program, new);
        for iface in self.interfaces.values_mut() {
            iface.policy = self.program.policy_for(&iface.status.name);
        }

        let mut flush = Vec::new();
        for (key, conn) in self.connections.iter_mut() {
            let Some(old_ref) = conn.class else { continue };
            let new_ref = self
                .program
                .find_class(old.policy_name(old_ref), &old.class(old_ref).name);
            if conn.entry.bypass {
                let e = &conn.entry;
                let flow = FlowView::new(
                    e.protocol,
                    e.originator.ip(),
                    e.responder.ip(),
                    e.originator.port(),
                    e.responder.port(),
                );
                let now_classified = self
                    .program
                    .policy_for(&e.ingress_interface)
                    .map(|p| self.program.classify(p, &flow, false));
                let still_built = match (now_classified, new_ref) {
                    (Some(Classification::Class(c)), Some(r)) => {
                        c == r
                            && self.program.class(r).bypass
                            && self.program.class(r).mode == BypassMode::Full
                    }
                    _ => false,
                };
                if !still_built {
                    flush.push(*key);
                    // Count the flush on the class if it still exists (else only in flushed_total).
                    conn.class = new_ref;
                    continue;
                }
            }
            conn.class = new_ref;
            match new_ref {
                Some(r) => {
                    // The new timeout runs from the last packet: the timer itself is not reset.
                    conn.entry.idle_timeout = self.program.class(r).idle_timeout;
                    conn.entry.refresh_expiry();
                }
                None => {
                    // Its class is gone: an ordinary connection now, keeping its timeout.
                    conn.entry.policy = None;
                    conn.entry.class = None;
                }
            }
        }
        let flushed = flush.len() as u64;
        for key in flush {
            self.close(key, TeardownReason::Flushed, now);
        }
        debug!(
            flushed,
            connections = self.connections.len(),
            "sim bypass program installed"
        );
        self.emit(DataplaneEvent::ProgramInstalled {
            at_ns: now,
            flushed,
        });
    }

    pub(super) fn bypass_counters(&self) -> BypassCounters {
        let mut current: BTreeMap<ClassRef, (u64, u64)> = BTreeMap::new();
        for c in self.connections.values() {
            if let Some(r) = c.class {
                let slot = current.entry(r).or_default();
                slot.0 += u64::from(c.entry.bypass);
                slot.1 += 1;
            }
        }
        BypassCounters {
            acl_entries: self.program.acl_counters(),
            classes: self.program.class_counters(&current),
            flushed_total: self.flushed_total,
        }
    }
}

fn verdict(
    verdict: Verdict,
    reason: VerdictReason,
    connection: Option<ConnectionEntry>,
    names: Option<(Arc<str>, Arc<str>)>,
) -> InjectResult {
    let (policy, class) = names.unzip();
    InjectResult {
        verdict,
        reason,
        policy,
        class,
        connection,
    }
}
