//! What one client may ask of the gNMI service, and the errors past it.
//!
//! Why: tetherd sits in the failover path; one buggy script must not take memory or time
//! from the others. Each limit is a tetherd option with a documented default
//! (docs/user-guide.md, deploy/tetherd.toml) and is answered RESOURCE_EXHAUSTED with a
//! message naming the option. A client is a peer IP address: several connections from one
//! host share its budget. Error messages are capped at [`MAX_ERROR_BYTES`] so a huge key
//! cannot make a huge status (gRPC clients' default metadata limit is 16 KiB; past it they
//! report RESOURCE_EXHAUSTED instead of our INVALID_ARGUMENT).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use prost::Message;
use tether_proto::gnmi::{Notification, SubscribeResponse, subscribe_response};

use crate::error::GnmiError;

/// Longest status message sent: the path and the reason, never the whole input.
pub const MAX_ERROR_BYTES: usize = 1024;

/// The limits of the gNMI service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request message (tonic refuses a bigger one before decoding it).
    pub max_request_bytes: usize,
    /// Deletes + replaces + union-replaces + updates in one SetRequest.
    pub max_updates_per_set: usize,
    /// Paths in one GetRequest.
    pub max_paths_per_get: usize,
    /// Subscriptions in one SubscriptionList.
    pub max_subscriptions_per_stream: usize,
    /// Subscribe RPCs one client may have open.
    pub max_streams_per_client: usize,
    /// RPCs (unary and streaming) one client may have in progress.
    pub max_rpcs_per_client: usize,
    /// Largest notification of a Get, ONCE or POLL response: a bigger one is split into
    /// several, each under it (most clients refuse messages over 4 MiB).
    pub max_notification_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_bytes: 16 << 20,
            max_updates_per_set: 10_000,
            max_paths_per_get: 1_000,
            max_subscriptions_per_stream: 1_000,
            max_streams_per_client: 1024,
            max_rpcs_per_client: 2048,
            // 4 MiB less room for the response's own framing.
            max_notification_bytes: (4 << 20) - (64 << 10),
        }
    }
}

/// `message` cut to [`MAX_ERROR_BYTES`] (on a character boundary), saying how much was cut.
pub fn cap_message(message: String) -> String {
    if message.len() <= MAX_ERROR_BYTES {
        return message;
    }
    let mut end = MAX_ERROR_BYTES - 40;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes cut)", &message[..end], message.len() - end)
}

/// A count over the limit, as the error that names the option.
pub fn over(what: &str, count: usize, limit: usize, option: &str) -> GnmiError {
    GnmiError::ResourceExhausted(format!(
        "{count} {what}, over the limit of {limit} (tetherd --{option})"
    ))
}

/// Checks `count` against `limit`.
pub fn check(what: &str, count: usize, limit: usize, option: &str) -> Result<(), GnmiError> {
    if count > limit {
        Err(over(what, count, limit, option))
    } else {
        Ok(())
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct InFlight {
    rpcs: usize,
    streams: usize,
}

/// RPCs and streams in progress per client.
#[derive(Debug, Default)]
pub struct Clients {
    by_ip: Mutex<HashMap<IpAddr, InFlight>>,
}

/// What an RPC is, for the per-client counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Unary,
    Stream,
}

/// One RPC's place in its client's counts, given back when dropped (the RPC ended, or its
/// stream's task did).
#[derive(Debug)]
pub struct Ticket {
    clients: Arc<Clients>,
    ip: IpAddr,
    kind: Kind,
}

impl Clients {
    /// Admits one RPC of `ip`, or says which limit it is over.
    pub fn enter(
        self: &Arc<Self>,
        ip: IpAddr,
        kind: Kind,
        limits: &Limits,
    ) -> Result<Ticket, GnmiError> {
        let mut map = self.by_ip.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(ip).or_default();
        if n.rpcs >= limits.max_rpcs_per_client {
            return Err(over(
                &format!("RPCs in progress from {ip}"),
                n.rpcs + 1,
                limits.max_rpcs_per_client,
                "max-rpcs-per-client",
            ));
        }
        if kind == Kind::Stream && n.streams >= limits.max_streams_per_client {
            return Err(over(
                &format!("Subscribe streams open from {ip}"),
                n.streams + 1,
                limits.max_streams_per_client,
                "max-streams-per-client",
            ));
        }
        n.rpcs += 1;
        if kind == Kind::Stream {
            n.streams += 1;
        }
        Ok(Ticket {
            clients: self.clone(),
            ip,
            kind,
        })
    }

    /// (RPCs, streams) of `ip` now.
    pub fn in_flight(&self, ip: IpAddr) -> (usize, usize) {
        let map = self.by_ip.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&ip).map_or((0, 0), |n| (n.rpcs, n.streams))
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut map = self.clients.by_ip.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.ip) {
            n.rpcs = n.rpcs.saturating_sub(1);
            if self.kind == Kind::Stream {
                n.streams = n.streams.saturating_sub(1);
            }
            if n.rpcs == 0 && n.streams == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// `n` as several notifications of the same timestamp and prefix, each at most `max`
/// bytes encoded (a single update bigger than that stays alone: it cannot be cut). Deletes
/// go with the first part. Order is kept.
pub fn split_notification(n: Notification, max: usize) -> Vec<Notification> {
    if n.encoded_len() <= max || n.update.len() <= 1 {
        return vec![n];
    }
    let shell = Notification {
        update: Vec::new(),
        delete: Vec::new(),
        ..n.clone()
    };
    let base = shell.encoded_len() + n.delete.iter().map(|d| d.encoded_len() + 4).sum::<usize>();
    let mut parts = Vec::new();
    let mut current = Notification {
        delete: n.delete,
        ..shell.clone()
    };
    let mut size = base;
    for u in n.update {
        // The field tag and length prefix: at most 1 + 5 bytes.
        let cost = u.encoded_len() + 6;
        if !current.update.is_empty() && size + cost > max {
            parts.push(std::mem::replace(&mut current, shell.clone()));
            size = shell.encoded_len();
        }
        size += cost;
        current.update.push(u);
    }
    parts.push(current);
    parts
}

/// A Subscribe response split as [`split_notification`] does (sync responses pass as they
/// are).
pub fn split_response(r: SubscribeResponse, max: usize) -> Vec<SubscribeResponse> {
    match r.response {
        Some(subscribe_response::Response::Update(n)) => split_notification(n, max)
            .into_iter()
            .map(|n| SubscribeResponse {
                response: Some(subscribe_response::Response::Update(n)),
                extension: r.extension.clone(),
            })
            .collect(),
        _ => vec![r],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_proto::gnmi::{Path, PathElem, TypedValue, Update, typed_value};

    fn update(i: usize, bytes: usize) -> Update {
        Update {
            path: Some(Path {
                elem: vec![PathElem {
                    name: format!("leaf{i}"),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            val: Some(TypedValue {
                value: Some(typed_value::Value::StringVal("x".repeat(bytes))),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn big_notifications_are_split_in_order_under_the_limit() {
        let n = Notification {
            timestamp: 7,
            update: (0..100).map(|i| update(i, 1000)).collect(),
            delete: vec![Path::default()],
            ..Default::default()
        };
        let total = n.encoded_len();
        let parts = split_notification(n.clone(), 10_000);
        assert!(parts.len() >= total / 10_000, "{} parts", parts.len());
        for p in &parts {
            assert!(p.encoded_len() <= 10_000, "{}", p.encoded_len());
            assert_eq!(p.timestamp, 7);
        }
        assert_eq!(parts[0].delete.len(), 1);
        let joined: Vec<Update> = parts.into_iter().flat_map(|p| p.update).collect();
        assert_eq!(joined, n.update);
        // Small ones pass untouched; one update too big for the limit stays alone.
        assert_eq!(split_notification(n.clone(), usize::MAX), vec![n]);
        let lone = Notification {
            update: vec![update(0, 50_000)],
            ..Default::default()
        };
        assert_eq!(split_notification(lone.clone(), 1000), vec![lone]);
    }

    #[test]
    fn messages_are_capped_on_a_char_boundary() {
        let short = "bad path".to_string();
        assert_eq!(cap_message(short.clone()), short);
        let long = format!("bad key {}", "é".repeat(1 << 20));
        let capped = cap_message(long);
        assert!(capped.len() <= MAX_ERROR_BYTES, "{}", capped.len());
        assert!(capped.ends_with("bytes cut)"));
    }

    #[test]
    fn per_client_counts_are_bounded_and_given_back() {
        let limits = Limits {
            max_rpcs_per_client: 3,
            max_streams_per_client: 2,
            ..Limits::default()
        };
        let clients = Arc::new(Clients::default());
        let a: IpAddr = "198.18.0.1".parse().unwrap();
        let b: IpAddr = "198.18.0.2".parse().unwrap();
        let s1 = clients.enter(a, Kind::Stream, &limits).unwrap();
        let _s2 = clients.enter(a, Kind::Stream, &limits).unwrap();
        let e = clients.enter(a, Kind::Stream, &limits).unwrap_err();
        assert!(e.to_string().contains("max-streams-per-client"), "{e}");
        let _u = clients.enter(a, Kind::Unary, &limits).unwrap();
        let e = clients.enter(a, Kind::Unary, &limits).unwrap_err();
        assert_eq!(e.code(), tonic::Code::ResourceExhausted);
        assert!(e.to_string().contains("max-rpcs-per-client"), "{e}");
        // Another client is not affected; a finished stream gives its place back.
        assert!(clients.enter(b, Kind::Stream, &limits).is_ok());
        drop(s1);
        assert_eq!(clients.in_flight(a), (2, 1));
        assert!(clients.enter(a, Kind::Unary, &limits).is_ok());
    }
}
