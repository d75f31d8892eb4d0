//! With the simulation off (the Linux dataplane), interface names Linux cannot hold are
//! refused by the schema itself (the `tether-linux-interface-names` deviations): in link-state
//! members, service-policies and the interfaces list, with the rule in the message, the
//! offending path, the `linux-interface-name` app tag, and nothing changed. With the
//! simulation on, the same Cisco names are accepted.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use serde_json::json;
use tether_model::{ConfigTree, Edit, ModelError, Schema, SchemaOptions};

const BYP: &str = "/tether-conntrack-bypass:bypass";
const LST: &str = "/tether-link-state:link-state";

fn linux() -> &'static Schema {
    static S: std::sync::OnceLock<&'static Schema> = std::sync::OnceLock::new();
    S.get_or_init(|| Schema::load(SchemaOptions { simulation: false }).unwrap())
}

fn sim() -> &'static Schema {
    static S: std::sync::OnceLock<&'static Schema> = std::sync::OnceLock::new();
    S.get_or_init(|| Schema::load(SchemaOptions { simulation: true }).unwrap())
}

/// The reference configuration; on Linux with the switch ports renamed (`Gi1/N` → `swpN`),
/// as `tetherctl import --map Gi1/1-40=swp1-40` does.
fn reference(schema: &'static Schema) -> ConfigTree {
    let mut t = ConfigTree::new(schema);
    let mut text = include_str!("fixtures/reference.json").to_string();
    if !schema.options().simulation {
        text = text.replace("\"Gi1/", "\"swp");
    }
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    t.apply(&[Edit::update("/", doc)]).unwrap();
    t
}

fn member(side: &str, name: &str) -> Edit {
    Edit::update(
        format!("{LST}/groups/group[id='1']/{side}/interfaces/interface[name='{name}']"),
        json!({"name": name, "config": {"name": name}}),
    )
}

fn service_policy(name: &str) -> Edit {
    Edit::update(
        format!("{BYP}/service-policies/service-policy[interface='{name}']"),
        json!({"interface": name, "config": {"interface": name, "policy": "MPLS-policy"}}),
    )
}

fn description(name: &str) -> Edit {
    Edit::update(
        format!("/tether-interfaces:interfaces/interface[name='{name}']/config/description"),
        json!("server port"),
    )
}

/// The edit is refused for the rule (a value error at the edit's path naming the
/// interface, or a validation error at the leaf with the `linux-interface-name` app tag),
/// leaving the tree as it was.
fn refused_for_the_rule(t: &mut ConfigTree, edits: &[Edit], bad: &str, leaf: &str) {
    let rule = "A Linux interface name cannot contain '/' or ':'";
    let before = t.leaves();
    let err = t.apply(edits).unwrap_err();
    match &err {
        ModelError::Value { path, message } => {
            assert!(message.starts_with(rule), "{err}");
            assert!(path.contains(&format!("='{bad}']")), "{err}");
        }
        ModelError::Invalid(errs) => {
            let e = errs
                .iter()
                .find(|e| e.app_tag.as_deref() == Some("linux-interface-name"))
                .unwrap_or_else(|| panic!("no linux-interface-name error in {err}"));
            assert!(e.message.starts_with(rule), "{e}");
            assert!(e.path.as_deref().is_some_and(|p| p.ends_with(leaf)), "{e}");
        }
        other => panic!("expected the Linux name rule, got {other}"),
    }
    assert_eq!(t.leaves(), before, "a refused edit changes nothing");
}

#[test]
fn cisco_names_are_refused_on_linux_and_linux_names_pass() {
    let mut t = reference(linux());
    for bad in ["Gi1/1", "eth0:1", "Te1/0/1"] {
        let members = members_leaf();
        refused_for_the_rule(&mut t, &[member("downstream", bad)], bad, members);
        refused_for_the_rule(&mut t, &[member("upstream", bad)], bad, members);
        refused_for_the_rule(&mut t, &[service_policy(bad)], bad, "/config/interface");
        refused_for_the_rule(&mut t, &[description(bad)], bad, "/interface/name");
        // Mixed with valid edits, the whole transaction is refused.
        refused_for_the_rule(
            &mut t,
            &[member("downstream", "swp41"), member("downstream", bad)],
            bad,
            members,
        );
    }
    // The unrenamed reference, as one document at the root, is refused whole.
    let cisco: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/reference.json")).unwrap();
    refused_for_the_rule(
        &mut t,
        &[Edit::replace("/", cisco)],
        "Gi1/1",
        members_leaf(),
    );
    // What Linux can hold goes in: 15 bytes, dots, dashes, underscores.
    t.apply(&[
        member("downstream", "swp1"),
        member("downstream", "enp3s0f1.100"),
        member("upstream", "bond0-uplink_1x"),
        service_policy("veth-mpls"),
        description("swp1"),
    ])
    .unwrap();
    assert!(
        t.leaves()
            .keys()
            .any(|k| k.contains("interface[name='enp3s0f1.100']"))
    );
    // The base type still holds: at most 15 bytes.
    assert!(
        t.apply(&[member("downstream", "swp1234567890123")])
            .is_err()
    );
}

fn members_leaf() -> &'static str {
    "/interfaces/interface/config/name"
}

#[test]
fn the_deviation_is_advertised_only_without_the_simulation() {
    assert_eq!(
        linux()
            .deviations()
            .iter()
            .map(|m| m.name)
            .collect::<Vec<_>>(),
        ["tether-linux-interface-names"]
    );
    assert!(sim().deviations().is_empty());
}

#[test]
fn cisco_names_are_accepted_with_the_simulation() {
    let mut t = reference(sim());
    t.apply(&[
        member("downstream", "Gi1/1"),
        service_policy("Gi1/2"),
        description("Gi1/1"),
    ])
    .unwrap();
}
