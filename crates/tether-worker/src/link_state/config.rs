//! Typed `tether-link-state` configuration → the LST engine's [`GroupConfig`]s. Pure.

use std::time::Duration;

use tether_lst::GroupConfig;
use tether_model::Datastore;
use tether_model::tether_link_state::link_state::groups::group::Group;

/// Every configured group, in configuration order, with the model's defaults filled in
/// (enabled, one upstream needed, no delays) for leaves the datastore leaves out.
pub fn groups(config: &Datastore) -> Vec<GroupConfig> {
    let Some(link_state) = &config.tether_link_state.link_state else {
        return Vec::new();
    };
    link_state
        .groups
        .iter()
        .flat_map(|g| &g.group)
        .map(group)
        .collect()
}

fn group(g: &Group) -> GroupConfig {
    let mut out = GroupConfig::new(g.id.get());
    if let Some(c) = &g.config {
        out.enabled = c.enabled.unwrap_or(true);
        out.min_upstream_up = c.min_upstream_up.map_or(1, |m| m.get());
        out.up_delay = Duration::from_secs(c.up_delay.map_or(0, |d| u64::from(d.get())));
        out.down_delay = Duration::from_millis(c.down_delay.map_or(0, |d| u64::from(d.get())));
    }
    out.upstream = (g
        .upstream
        .iter()
        .flat_map(|u| &u.interfaces)
        .flat_map(|i| &i.interface))
    .map(|i| i.name.as_str().to_string())
    .collect();
    out.downstream = (g
        .downstream
        .iter()
        .flat_map(|u| &u.interfaces)
        .flat_map(|i| &i.interface))
    .map(|i| i.name.as_str().to_string())
    .collect();
    out
}

/// The group's description, mirrored into its state.
pub fn description(config: &Datastore, id: u16) -> Option<String> {
    let link_state = config.tether_link_state.link_state.as_ref()?;
    let g = link_state
        .groups
        .iter()
        .flat_map(|g| &g.group)
        .find(|g| g.id.get() == id)?;
    g.config
        .as_ref()?
        .description
        .as_ref()
        .map(|d| d.as_str().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn datastore(doc: serde_json::Value) -> Datastore {
        serde_json::from_value(json!({ "tether-link-state:link-state": doc })).expect("typed")
    }

    fn member(name: &str) -> serde_json::Value {
        json!({ "name": name, "config": { "name": name } })
    }

    #[test]
    fn groups_convert_with_defaults_and_units() {
        // (group config, enabled, min-upstream-up, up-delay, down-delay)
        let cases = [
            (json!({ "id": 1 }), true, 1, Duration::ZERO, Duration::ZERO),
            (
                json!({ "id": 2, "enabled": false, "min-upstream-up": 2, "up-delay": 5, "down-delay": 250 }),
                false,
                2,
                Duration::from_secs(5),
                Duration::from_millis(250),
            ),
        ];
        for (config, enabled, min_up, up_delay, down_delay) in cases {
            let id = config["id"].clone();
            let d = datastore(json!({ "groups": { "group": [{
                "id": id, "config": config,
                "upstream": { "interfaces": { "interface": [member("Po11")] } },
                "downstream": { "interfaces": { "interface": [member("Gi1/1"), member("Gi1/2")] } }
            }] } }));
            let g = &groups(&d)[0];
            assert_eq!(
                (g.enabled, g.min_upstream_up, g.up_delay, g.down_delay),
                (enabled, min_up, up_delay, down_delay),
                "{config}"
            );
            assert_eq!(g.upstream, vec!["Po11".to_string()]);
            assert_eq!(g.downstream, vec!["Gi1/1".to_string(), "Gi1/2".to_string()]);
        }
    }

    #[test]
    fn no_link_state_is_no_groups() {
        assert!(groups(&Datastore::default()).is_empty());
        let d = datastore(json!({ "groups": { "group": [{ "id": 7 }] } }));
        let g = &groups(&d)[0];
        assert_eq!((g.id, g.upstream.len(), g.downstream.len()), (7, 0, 0));
    }
}
