//! Group configuration and its validation.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::state::{GroupId, Role};

/// Smallest group id (as on Cisco and in the YANG model).
pub const GROUP_ID_MIN: GroupId = 1;
/// Largest group id.
pub const GROUP_ID_MAX: GroupId = 4096;

/// One link state group: `/link-state/groups/group[id]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupConfig {
    /// 1..=4096.
    pub id: GroupId,
    /// When false the group tracks nothing and re-enables what it had disabled.
    pub enabled: bool,
    /// The group is down when fewer upstreams than this are up (at least 1).
    pub min_upstream_up: u16,
    /// How long enough upstreams must stay up before the downstreams are enabled again.
    pub up_delay: Duration,
    /// How long upstreams must stay below the threshold before the downstreams are disabled.
    pub down_delay: Duration,
    /// Upstream interface names, in configuration order.
    pub upstream: Vec<String>,
    /// Downstream interface names, in configuration order.
    pub downstream: Vec<String>,
}

impl GroupConfig {
    /// A group with the model's defaults: enabled, one upstream needed, no delays, no members.
    pub fn new(id: GroupId) -> Self {
        Self {
            id,
            enabled: true,
            min_upstream_up: 1,
            up_delay: Duration::ZERO,
            down_delay: Duration::ZERO,
            upstream: Vec::new(),
            downstream: Vec::new(),
        }
    }
}

/// Why [`crate::Engine::set_config`] refused a configuration. The engine is left unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("link state group id {0} is out of range {GROUP_ID_MIN}..={GROUP_ID_MAX}")]
    GroupIdOutOfRange(GroupId),
    #[error("link state group {0} is configured twice")]
    DuplicateGroup(GroupId),
    #[error("link state group {0}: min-upstream-up must be at least 1")]
    MinUpstreamUpZero(GroupId),
    #[error(
        "interface {interface} is {first_role} of group {first_group} and {second_role} of group \
         {second_group}: an interface belongs to at most one group, in one role"
    )]
    InterfaceInTwoGroups {
        interface: String,
        first_group: GroupId,
        first_role: Role,
        second_group: GroupId,
        second_role: Role,
    },
}

/// Checks what the YANG model also enforces, so that the engine never has to trust it.
pub(crate) fn validate(groups: &[GroupConfig]) -> Result<(), ConfigError> {
    let mut ids = HashSet::with_capacity(groups.len());
    let mut seen: HashMap<&str, (GroupId, Role)> = HashMap::new();
    for group in groups {
        if !(GROUP_ID_MIN..=GROUP_ID_MAX).contains(&group.id) {
            return Err(ConfigError::GroupIdOutOfRange(group.id));
        }
        if !ids.insert(group.id) {
            return Err(ConfigError::DuplicateGroup(group.id));
        }
        if group.min_upstream_up == 0 {
            return Err(ConfigError::MinUpstreamUpZero(group.id));
        }
        let members = (group.upstream.iter().map(|name| (name, Role::Upstream)))
            .chain(group.downstream.iter().map(|name| (name, Role::Downstream)));
        for (name, role) in members {
            if let Some(&(first_group, first_role)) = seen.get(name.as_str()) {
                return Err(ConfigError::InterfaceInTwoGroups {
                    interface: name.clone(),
                    first_group,
                    first_role,
                    second_group: group.id,
                    second_role: role,
                });
            }
            seen.insert(name, (group.id, role));
        }
    }
    Ok(())
}
