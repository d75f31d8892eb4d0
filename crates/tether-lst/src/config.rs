//! Group configuration and its validation.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::state::{GroupId, Role};

/// Smallest group id (as on Cisco and in the YANG model).
pub const GROUP_ID_MIN: GroupId = 1;
/// Largest group id.
pub const GROUP_ID_MAX: GroupId = 4096;

/// What a threshold counts: upstreams that are up, or their share of the group's upstreams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ThresholdKind {
    /// A number of upstreams (Arista `links minimum`).
    Count,
    /// A percentage of the configured upstreams, 1..=100 (Dell Enterprise SONiC
    /// `threshold type percentage up U down D`).
    Percentage,
}

/// When a group goes down and when it comes back: two limits, so that a group hovering at one
/// of them does not flap (hysteresis).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Threshold {
    pub kind: ThresholdKind,
    /// An up group goes down when fewer upstreams than this are up (count), or when the share of
    /// upstreams that are up falls below this percentage.
    pub down: u16,
    /// A down group comes up again once at least this many (or this share of) upstreams are up.
    /// At least `down`.
    pub up: u16,
}

impl Threshold {
    /// A count threshold without hysteresis: down below `n`, up again at `n`.
    pub fn count(n: u16) -> Self {
        Self {
            kind: ThresholdKind::Count,
            down: n,
            up: n,
        }
    }
}

/// One link state group: `/link-state/groups/group[id]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupConfig {
    /// 1..=4096.
    pub id: GroupId,
    /// When false the group tracks nothing and re-enables what it had disabled.
    pub enabled: bool,
    /// The group is down when fewer upstreams than this are up (at least 1). Used when
    /// `threshold` is `None`; the same as `Threshold::count(min_upstream_up)`.
    pub min_upstream_up: u16,
    /// Separate down and up limits, counted or in percent; replaces `min_upstream_up`.
    pub threshold: Option<Threshold>,
    /// How long enough upstreams must stay up before the downstreams are enabled again.
    pub up_delay: Duration,
    /// How long upstreams must stay below the threshold before the downstreams are disabled.
    pub down_delay: Duration,
    /// Dell's `downstream disable links N`: while the group is up, each upstream that is not
    /// up disables this many downstreams (the first ones, in configuration order). `None`:
    /// downstreams are disabled only when the group is down (then all of them, as always).
    pub disable_links: Option<u16>,
    /// Dell's `downstream auto-recover` (the default). When false, a downstream the group
    /// disabled stays disabled after the group recovers, until [`crate::Engine::clear`].
    pub auto_recover: bool,
    /// Upstream interface names, in configuration order.
    pub upstream: Vec<String>,
    /// Downstream interface names, in configuration order.
    pub downstream: Vec<String>,
}

impl GroupConfig {
    /// A group with the model's defaults: enabled, one upstream needed, no delays, every
    /// downstream disabled only when the group is down, automatic recovery, no members.
    pub fn new(id: GroupId) -> Self {
        Self {
            id,
            enabled: true,
            min_upstream_up: 1,
            threshold: None,
            up_delay: Duration::ZERO,
            down_delay: Duration::ZERO,
            disable_links: None,
            auto_recover: true,
            upstream: Vec::new(),
            downstream: Vec::new(),
        }
    }

    /// The threshold in force: `threshold`, or `min_upstream_up` as a count.
    pub fn effective_threshold(&self) -> Threshold {
        self.threshold
            .unwrap_or_else(|| Threshold::count(self.min_upstream_up))
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
    #[error("link state group {group}: threshold-down must be at least 1")]
    ThresholdZero { group: GroupId },
    #[error("link state group {group}: a percentage threshold must be 1..=100, not {value}")]
    PercentageOutOfRange { group: GroupId, value: u16 },
    #[error(
        "link state group {group}: threshold-down {down} is above threshold-up {up}: a group \
         would come up before it stopped being down"
    )]
    DownAboveUp { group: GroupId, down: u16, up: u16 },
    #[error("link state group {0}: downstream disable links must be at least 1")]
    DisableLinksZero(GroupId),
    #[error("interface {interface} is listed twice as {role} of link state group {group}")]
    DuplicateMember {
        interface: String,
        group: GroupId,
        role: Role,
    },
    #[error(
        "interface {interface} is upstream of group {upstream_group} and downstream of group \
         {downstream_group}: an interface may be in several groups, but in one role"
    )]
    UpstreamAndDownstream {
        interface: String,
        upstream_group: GroupId,
        downstream_group: GroupId,
    },
}

/// Checks what the YANG model also enforces, so that the engine never has to trust it.
pub(crate) fn validate(groups: &[GroupConfig]) -> Result<(), ConfigError> {
    let mut ids = HashSet::with_capacity(groups.len());
    let mut upstream_of: HashMap<&str, GroupId> = HashMap::new();
    let mut downstream_of: HashMap<&str, GroupId> = HashMap::new();
    for group in groups {
        if !(GROUP_ID_MIN..=GROUP_ID_MAX).contains(&group.id) {
            return Err(ConfigError::GroupIdOutOfRange(group.id));
        }
        if !ids.insert(group.id) {
            return Err(ConfigError::DuplicateGroup(group.id));
        }
        validate_limits(group)?;
        for (role, list) in [
            (Role::Upstream, &group.upstream),
            (Role::Downstream, &group.downstream),
        ] {
            let mut seen = HashSet::with_capacity(list.len());
            for name in list {
                if !seen.insert(name.as_str()) {
                    return Err(ConfigError::DuplicateMember {
                        interface: name.clone(),
                        group: group.id,
                        role,
                    });
                }
                let (mine, other) = match role {
                    Role::Upstream => (&mut upstream_of, &downstream_of),
                    Role::Downstream => (&mut downstream_of, &upstream_of),
                };
                if let Some(&other_group) = other.get(name.as_str()) {
                    let (upstream_group, downstream_group) = match role {
                        Role::Upstream => (group.id, other_group),
                        Role::Downstream => (other_group, group.id),
                    };
                    return Err(ConfigError::UpstreamAndDownstream {
                        interface: name.clone(),
                        upstream_group,
                        downstream_group,
                    });
                }
                mine.entry(name.as_str()).or_insert(group.id);
            }
        }
    }
    Ok(())
}

fn validate_limits(group: &GroupConfig) -> Result<(), ConfigError> {
    if group.min_upstream_up == 0 {
        return Err(ConfigError::MinUpstreamUpZero(group.id));
    }
    if group.disable_links == Some(0) {
        return Err(ConfigError::DisableLinksZero(group.id));
    }
    let Some(threshold) = group.threshold else {
        return Ok(());
    };
    if threshold.down == 0 {
        return Err(ConfigError::ThresholdZero { group: group.id });
    }
    if threshold.kind == ThresholdKind::Percentage
        && let Some(value) = [threshold.down, threshold.up]
            .into_iter()
            .find(|v| *v > 100)
    {
        return Err(ConfigError::PercentageOutOfRange {
            group: group.id,
            value,
        });
    }
    if threshold.down > threshold.up {
        return Err(ConfigError::DownAboveUp {
            group: group.id,
            down: threshold.down,
            up: threshold.up,
        });
    }
    Ok(())
}
