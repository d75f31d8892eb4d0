//! What the translated lines configure, as plain data: the ASA/IOS objects Tether has
//! (access-lists, class-maps, policy-maps, service-policies, link state groups), already
//! checked against Tether's rules, and nothing of the gNMI Set that carries them.
//!
//! The parser builds a [`Config`]; [`emit`](super::emit) and [`summary`](super::summary) only
//! read it. Keeping the two apart means a rule of the Cisco syntax never hides in the JSON
//! code, and the JSON shape of the Tether modules lives in one place.

use super::acl::Ace;

/// A translated configuration. Every list is in the order the text first names its objects,
/// which is the order the Set carries them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    pub access_lists: Vec<AccessList>,
    pub class_maps: Vec<ClassMap>,
    pub policy_maps: Vec<PolicyMap>,
    pub service_policies: Vec<ServicePolicy>,
    /// `service-policy P global`: one per device, as on the ASA.
    pub global_policy: Option<String>,
    pub link_state_groups: Vec<LinkStateGroup>,
}

/// `access-list NAME ...` lines or an `ip access-list` block.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessList {
    pub name: String,
    /// In sequence order, sequence numbers distinct.
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub sequence: u32,
    pub ace: Ace,
    /// The `remark` lines before the entry, joined by spaces.
    pub remark: Option<String>,
}

/// `class-map NAME` + `match access-list ACL`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassMap {
    pub name: String,
    /// `None` until the `match access-list` line; a class-map left without one is reported and
    /// dropped when the text ends.
    pub match_access_list: Option<String>,
}

/// `policy-map NAME` with its `class` sections.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyMap {
    pub name: String,
    pub description: Option<String>,
    pub classes: Vec<PolicyClass>,
}

/// `class C` under a policy-map, with its `set connection` actions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyClass {
    pub name: String,
    /// Seconds.
    pub idle_timeout: Option<u64>,
    /// Seconds.
    pub embryonic_timeout: Option<u64>,
    /// Seconds.
    pub half_closed_timeout: Option<u64>,
    /// `set connection conn-max N` / `embryonic-conn-max N` (0, the ASA's "no limit", is
    /// left out).
    pub conn_max: Option<u64>,
    pub embryonic_conn_max: Option<u64>,
    pub tcp_state_bypass: bool,
}

/// `service-policy P interface IF`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServicePolicy {
    /// The interface name in its IOS short form.
    pub interface: String,
    pub policy: String,
}

/// `link state track N` and the `link state group N upstream|downstream` lines that name N.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkStateGroup {
    pub id: u16,
    /// Named by `link state track N`, which enables the group.
    pub tracked: bool,
    pub upstream: Vec<String>,
    pub downstream: Vec<String>,
}

impl Config {
    /// The access-list `name`, created empty on first mention.
    pub fn access_list(&mut self, name: &str) -> &mut AccessList {
        find_or_push(
            &mut self.access_lists,
            |a| a.name == name,
            || AccessList {
                name: name.to_string(),
                entries: Vec::new(),
            },
        )
    }

    /// The policy-map `name`, created empty on first mention.
    pub fn policy_map(&mut self, name: &str) -> &mut PolicyMap {
        find_or_push(
            &mut self.policy_maps,
            |p| p.name == name,
            || PolicyMap {
                name: name.to_string(),
                description: None,
                classes: Vec::new(),
            },
        )
    }

    /// The link state group `id`, created empty on first mention.
    pub fn link_state_group(&mut self, id: u16) -> &mut LinkStateGroup {
        find_or_push(
            &mut self.link_state_groups,
            |g| g.id == id,
            || LinkStateGroup {
                id,
                tracked: false,
                upstream: Vec::new(),
                downstream: Vec::new(),
            },
        )
    }
}

/// The first item of `list` that `is_it`, or a new one appended: objects keep the place of
/// their first mention.
fn find_or_push<T>(
    list: &mut Vec<T>,
    is_it: impl Fn(&T) -> bool,
    new: impl FnOnce() -> T,
) -> &mut T {
    let i = match list.iter().position(is_it) {
        Some(i) => i,
        None => {
            list.push(new());
            list.len() - 1
        }
    };
    &mut list[i]
}
