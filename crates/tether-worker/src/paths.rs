//! Data paths of the state leaves the worker writes (libyang syntax, module-qualified at the top).

use tether_lst::{GroupId, Role};
use tether_model::tether_conntrack_bypass::bypass;
use tether_model::tether_interfaces::interfaces;
use tether_model::tether_link_state::link_state;

/// A list-key predicate value, quoted so any name is safe (`'` inside → `"` quotes).
fn quote(value: &str) -> String {
    if value.contains('\'') {
        format!("\"{value}\"")
    } else {
        format!("'{value}'")
    }
}

/// `/tether-interfaces:interfaces/interface[name='X']`
pub fn interface(name: &str) -> String {
    format!("{}[name={}]", interfaces::interface::PATH, quote(name))
}

/// `/tether-link-state:link-state/groups/group[id='N']`
pub fn group(id: GroupId) -> String {
    format!("{}[id='{id}']", link_state::groups::group::PATH,)
}

/// `.../group[id='N']/{upstream,downstream}/interfaces/interface[name='X']`
pub fn member(id: GroupId, role: Role, name: &str) -> String {
    let side = match role {
        Role::Upstream => "upstream",
        Role::Downstream => "downstream",
    };
    format!(
        "{}/{side}/interfaces/interface[name={}]",
        group(id),
        quote(name)
    )
}

/// `/tether-conntrack-bypass:bypass/access-lists/access-list[name='A']/entries/entry[sequence='S']`
pub fn acl_entry(acl: &str, sequence: u32) -> String {
    format!(
        "{}[name={}]/entries/entry[sequence='{sequence}']",
        bypass::access_lists::access_list::PATH,
        quote(acl)
    )
}

/// `/tether-conntrack-bypass:bypass/policies/policy[name='P']/classes/class[name='C']`
pub fn policy_class(policy: &str, class: &str) -> String {
    format!(
        "{}[name={}]/classes/class[name={}]",
        bypass::policies::policy::PATH,
        quote(policy),
        quote(class)
    )
}

/// `/tether-conntrack-bypass:bypass/service-policies/service-policy[interface='X']`
pub fn service_policy(interface: &str) -> String {
    format!(
        "{}[interface={}]",
        bypass::service_policies::service_policy::PATH,
        quote(interface)
    )
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
            acl_entry("StatelessTraffic", 10),
            "/tether-conntrack-bypass:bypass/access-lists/access-list[name='StatelessTraffic']/entries/entry[sequence='10']"
        );
        assert_eq!(
            interface("it's"),
            "/tether-interfaces:interfaces/interface[name=\"it's\"]"
        );
    }
}
