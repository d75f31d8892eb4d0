//! The YANG actions Tether performs, as a trait the daemon implements.
//!
//! An action (YANG 1.1 `action`) changes no configuration: it asks the running system to do
//! something, here link state tracking's manual recovery. The northbounds that invoke actions
//! (NETCONF `<action>`, the admin gRPC service for gNMI users) take an `Arc<dyn Actions>`, and
//! the daemon hands them one backed by the worker, so neither northbound imports the worker
//! (DESIGN: the northbounds learn of the worker's effects through the state tree only).

use std::future::Future;
use std::pin::Pin;

/// What an action returns, boxed so that the trait stays object-safe without `async-trait`.
pub type ActionFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ActionError>> + Send + 'a>>;

/// Why an action was not performed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// The instance the action names does not exist (NETCONF `data-missing`, gRPC NOT_FOUND).
    #[error("no link state group {0} is configured")]
    NoSuchGroup(u16),
    /// The part of the daemon that performs it is not running (UNAVAILABLE).
    #[error("cannot perform the action: {0}")]
    Unavailable(String),
}

/// The actions of Tether's YANG modules.
pub trait Actions: Send + Sync {
    /// `/tether-link-state:link-state/groups/group[id]/clear`: manual recovery of one group.
    /// Returns the interfaces it re-enabled.
    fn clear_link_state_group(&self, group: u16) -> ActionFuture<'_, Vec<String>>;
}
