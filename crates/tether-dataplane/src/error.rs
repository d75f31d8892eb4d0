//! Errors of the dataplane API, each carrying what an operator needs to fix the input.

use std::time::Duration;

/// Why a dataplane call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DataplaneError {
    /// The named interface does not exist (it may have been removed since the caller listed it).
    #[error("interface {0:?} does not exist")]
    UnknownInterface(String),
    /// An interface of that name already exists.
    #[error("interface {0:?} already exists")]
    InterfaceExists(String),
    /// The compiled bypass program is inconsistent; nothing was installed.
    #[error("invalid bypass program: {0}")]
    InvalidProgram(#[from] ProgramError),
    /// This dataplane does not do that (e.g. create interfaces on Linux).
    #[error("this dataplane does not support {0}")]
    Unsupported(&'static str),
    /// The backend (nft, netlink) refused or failed; `operation` says what Tether was doing.
    #[error("{operation} failed: {detail}")]
    Backend { operation: String, detail: String },
}

/// Why a [`crate::BypassProgram`] (or one of its parts) is rejected.
///
/// The worker's compiler should never produce these from validated config, so each variant names the
/// exact object to make a compiler bug easy to find.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProgramError {
    #[error("prefix length {len} is longer than the {max}-bit address {addr}")]
    PrefixTooLong { addr: String, len: u8, max: u8 },
    #[error("prefix {addr}/{len} has host bits set (did you mean {canonical}?)")]
    HostBitsSet {
        addr: String,
        len: u8,
        canonical: String,
    },
    #[error("cannot parse prefix {0:?} (expected ADDRESS/LENGTH)")]
    PrefixSyntax(String),
    #[error(
        "access-list {acl:?} sequence {sequence}: source and destination are of different address families"
    )]
    MixedFamilies { acl: String, sequence: u32 },
    #[error("access-list {acl:?} sequence {sequence}: port range {lo}-{hi} is empty")]
    EmptyPortRange {
        acl: String,
        sequence: u32,
        lo: u16,
        hi: u16,
    },
    #[error("access-list {acl:?} sequence {sequence}: ports can only be matched for tcp or udp")]
    PortsWithoutTransport { acl: String, sequence: u32 },
    #[error("access-list {acl:?}: sequence {sequence} appears more than once")]
    DuplicateSequence { acl: String, sequence: u32 },
    #[error(
        "access-list {acl:?}: sequence {sequence} comes after a higher one (entries must be sorted)"
    )]
    UnsortedSequence { acl: String, sequence: u32 },
    #[error("policy {policy:?} class {class:?}: access-list {acl:?} does not exist")]
    UnknownAccessList {
        policy: String,
        class: String,
        acl: String,
    },
    #[error("policy {policy:?}: class {class:?} appears more than once")]
    DuplicateClass { policy: String, class: String },
    #[error("policy {policy:?} class {class:?}: idle timeout {timeout:?} must be at least 1 ns")]
    ZeroIdleTimeout {
        policy: String,
        class: String,
        timeout: Duration,
    },
    #[error("{user} refers to policy {policy:?}, which does not exist")]
    UnknownPolicy { user: String, policy: String },
}
