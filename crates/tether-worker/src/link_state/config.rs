//! Typed `tether-link-state` configuration → the LST engine's [`GroupConfig`]s. Pure.

use std::time::Duration;

use tether_lst::{GroupConfig, Threshold, ThresholdKind};
use tether_model::Datastore;
use tether_model::tether_link_state::link_state::groups::group::Group;
use tether_model::tether_link_state::link_state::groups::group::config::{Config, ThresholdType};

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
        out.threshold = threshold(c, out.min_upstream_up);
        out.disable_links = c.downstream_disable_links.map(|n| n.get());
        out.auto_recover = c.auto_recover.unwrap_or(true);
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

/// The thresholds, when any threshold leaf is set: the count type falls back on
/// `min-upstream-up` for the down limit, and either type on the down limit for the up limit.
fn threshold(c: &Config, min_upstream_up: u16) -> Option<Threshold> {
    let kind = match c.threshold_type {
        Some(ThresholdType::Percentage) => ThresholdKind::Percentage,
        Some(ThresholdType::Count) | None => ThresholdKind::Count,
    };
    let down = c.threshold_down.map(|d| d.get());
    let up = c.threshold_up.map(|u| u.get());
    if kind == ThresholdKind::Count && down.is_none() && up.is_none() {
        return None;
    }
    let down = down.unwrap_or(min_upstream_up);
    Some(Threshold {
        kind,
        down,
        up: up.unwrap_or(down),
    })
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
    fn thresholds_disable_links_and_recovery_convert() {
        let count = |down, up| {
            Some(Threshold {
                kind: ThresholdKind::Count,
                down,
                up,
            })
        };
        // (group config, threshold, disable links, auto-recover)
        let cases = [
            (json!({ "id": 1 }), None, None, true),
            (json!({ "id": 1, "min-upstream-up": 2 }), None, None, true),
            (
                json!({ "id": 1, "threshold-up": 3 }),
                count(1, 3),
                None,
                true,
            ),
            (
                json!({ "id": 1, "min-upstream-up": 2, "threshold-up": 3 }),
                count(2, 3),
                None,
                true,
            ),
            (
                json!({ "id": 1, "threshold-type": "percentage", "threshold-down": 20,
                        "threshold-up": 40, "downstream-disable-links": 2, "auto-recover": false }),
                Some(Threshold {
                    kind: ThresholdKind::Percentage,
                    down: 20,
                    up: 40,
                }),
                Some(2),
                false,
            ),
            (
                json!({ "id": 1, "threshold-type": "percentage", "threshold-down": 50 }),
                Some(Threshold {
                    kind: ThresholdKind::Percentage,
                    down: 50,
                    up: 50,
                }),
                None,
                true,
            ),
        ];
        for (config, threshold, links, auto) in cases {
            let d = datastore(json!({ "groups": { "group": [{ "id": 1, "config": config }] } }));
            let g = &groups(&d)[0];
            assert_eq!(
                (g.threshold, g.disable_links, g.auto_recover),
                (threshold, links, auto),
                "{config}"
            );
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
