//! Data paths of the state leaves the worker writes (libyang syntax, module-qualified at the top).
//!
//! Every node name comes from the schema paths `tether-model` generates from the YANG, never from
//! a string typed here: a renamed leaf or container breaks the build instead of silently
//! publishing state no client can ask for. A generated constant is a *schema* path (no keys);
//! a data path puts a key predicate after each list, so a path is built from the data path of a
//! list entry (the generated `entry` builders behind [`interface`], [`group()`], …, which are
//! the only place key names are spelled) and the part of a generated schema path below that
//! list ([`under`]).

use tether_lst::{GroupId, Role};
use tether_model::tether_conntrack_bypass::bypass;
use tether_model::tether_interfaces::interfaces;
use tether_model::tether_link_state::link_state;

use bypass::access_lists::access_list;
use link_state::groups::group;

/// The data path of the schema node `node` inside the list entry `entry`, whose list has the
/// schema path `list`: `under(&interface("Gi1/1"), interface::PATH, State::OPER_STATUS)` is
/// `/tether-interfaces:interfaces/interface[name='Gi1/1']/state/oper-status`.
pub fn under(entry: &str, list: &'static str, node: &'static str) -> String {
    tether_syntax::data_path::under(entry, list, node)
}

/// `/tether-interfaces:interfaces/interface[name='X']`
pub fn interface(name: &str) -> String {
    interfaces::interface::entry(name)
}

/// `/tether-link-state:link-state/groups/group[id='N']`
pub fn group(id: GroupId) -> String {
    group::entry(id)
}

/// The schema path of a group's member list on `role`'s side.
pub fn member_list(role: Role) -> &'static str {
    match role {
        Role::Upstream => group::upstream::interfaces::interface::PATH,
        Role::Downstream => group::downstream::interfaces::interface::PATH,
    }
}

/// `.../group[id='N']/{upstream,downstream}/interfaces/interface[name='X']`
pub fn member(id: GroupId, role: Role, name: &str) -> String {
    let parent = group(id);
    match role {
        Role::Upstream => group::upstream::interfaces::interface::entry(&parent, name),
        Role::Downstream => group::downstream::interfaces::interface::entry(&parent, name),
    }
}

/// `/tether-conntrack-bypass:bypass/access-lists/access-list[name='A']/entries/entry[sequence='S']`
pub fn acl_entry(acl: &str, sequence: u32) -> String {
    access_list::entries::entry::entry(&access_list::entry(acl), sequence)
}

/// `/tether-conntrack-bypass:bypass/policies/policy[name='P']/classes/class[name='C']`
pub fn policy_class(policy: &str, class: &str) -> String {
    use bypass::policies::policy;
    policy::classes::class::entry(&policy::entry(policy), class)
}

/// `/tether-conntrack-bypass:bypass/service-policies/service-policy[interface='X']`
pub fn service_policy(interface: &str) -> String {
    bypass::service_policies::service_policy::entry(interface)
}

/// `/tether-conntrack-bypass:bypass/global-policy`
pub fn global_policy() -> String {
    bypass::global_policy::PATH.to_string()
}

/// `/tether-conntrack-bypass:bypass/state/program-repairs`
pub const BYPASS_REPAIRS: &str = bypass::state::State::PROGRAM_REPAIRS;
/// `/tether-conntrack-bypass:bypass/state/last-program-repair`
pub const BYPASS_LAST_REPAIR: &str = bypass::state::State::LAST_PROGRAM_REPAIR;
/// `/tether-conntrack-bypass:bypass/state/warnings` (a leaf-list)
pub const BYPASS_WARNINGS: &str = bypass::state::State::WARNINGS;
/// `/tether-conntrack-bypass:bypass/state/applied-commit{,-timestamp}`, `applied-at`
pub(crate) const BYPASS_APPLIED: crate::applied::AppliedPaths = crate::applied::AppliedPaths {
    commit: bypass::state::State::APPLIED_COMMIT,
    timestamp: bypass::state::State::APPLIED_COMMIT_TIMESTAMP,
    at: bypass::state::State::APPLIED_AT,
};
/// `/tether-link-state:link-state/state/applied-commit{,-timestamp}`, `applied-at`
pub(crate) const LINK_STATE_APPLIED: crate::applied::AppliedPaths = crate::applied::AppliedPaths {
    commit: link_state::state::State::APPLIED_COMMIT,
    timestamp: link_state::state::State::APPLIED_COMMIT_TIMESTAMP,
    at: link_state::state::State::APPLIED_AT,
};
/// `/tether-link-state:link-state/state/disable-repairs`
pub const LINK_STATE_REPAIRS: &str = link_state::state::State::DISABLE_REPAIRS;
/// `/tether-link-state:link-state/state/last-disable-repair`
pub const LINK_STATE_LAST_REPAIR: &str = link_state::state::State::LAST_DISABLE_REPAIR;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_the_libyang_syntax() {
        assert_eq!(
            interface("Gi1/1"),
            "/tether-interfaces:interfaces/interface[name='Gi1/1']"
        );
        assert_eq!(
            member(1, Role::Downstream, "Gi1/1"),
            "/tether-link-state:link-state/groups/group[id='1']/downstream/interfaces/interface[name='Gi1/1']"
        );
        assert_eq!(
            member(2, Role::Upstream, "Po11"),
            "/tether-link-state:link-state/groups/group[id='2']/upstream/interfaces/interface[name='Po11']"
        );
        assert_eq!(
            acl_entry("StatelessTraffic", 10),
            "/tether-conntrack-bypass:bypass/access-lists/access-list[name='StatelessTraffic']/entries/entry[sequence='10']"
        );
        assert_eq!(
            policy_class("MPLS-policy", "tcp_bypass"),
            "/tether-conntrack-bypass:bypass/policies/policy[name='MPLS-policy']/classes/class[name='tcp_bypass']"
        );
        assert_eq!(
            interface("it's"),
            "/tether-interfaces:interfaces/interface[name=\"it's\"]"
        );
        assert_eq!(
            under(
                &interface("Gi1/1"),
                interfaces::interface::PATH,
                interfaces::interface::state::State::OPER_STATUS
            ),
            "/tether-interfaces:interfaces/interface[name='Gi1/1']/state/oper-status"
        );
    }
}
