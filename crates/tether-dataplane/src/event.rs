//! Events a dataplane broadcasts to the worker.

use serde::{Deserialize, Serialize};

use crate::conntrack::{ConnectionEntry, TeardownReason};
use crate::interface::InterfaceStatus;

/// Something changed in the dataplane.
///
/// Delivered on a bounded `tokio::sync::broadcast` channel: a receiver that falls behind gets
/// `RecvError::Lagged` and has lost events, so it must resynchronise from `Dataplane::interfaces()`
/// (and re-read counters and connections) rather than trust its view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum DataplaneEvent {
    InterfaceAdded(InterfaceStatus),
    InterfaceRemoved {
        name: String,
        ifindex: u32,
        at_ns: u64,
    },
    /// Admin state, carrier or Tether's disable changed; carries the state after the change.
    InterfaceChanged(InterfaceStatus),
    /// A connection entry left the table (idle timeout, FIN/RST, flushed by a program install).
    ConnectionClosed {
        connection: ConnectionEntry,
        reason: TeardownReason,
        at_ns: u64,
    },
    /// A bypass program was installed; `flushed` entries of classes it no longer has were removed.
    ProgramInstalled {
        at_ns: u64,
        flushed: u64,
    },
}
