//! `tetherctl import` of the reference configuration (tests/fixtures/reference.cfg, the ASA and
//! IOS lines of ../shared/reference/) reproduces it exactly: every line translates, and the Set
//! carries exactly the reference's access-list, class-map, policy-maps, service-policies and
//! link state group.

#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use tetherctl::import::translate;

const REFERENCE: &str = include_str!("fixtures/reference.cfg");

fn expected_bypass() -> Value {
    let entry = |seq: u32, src: &str, dst: &str, remark: &str| {
        json!({"sequence": seq, "config": {"sequence": seq, "action": "permit", "protocol": "tcp",
               "source-prefix": src, "destination-prefix": dst, "remark": remark}})
    };
    let policy = |name: &str| {
        json!({"name": name, "config": {"name": name}, "classes": {"class": [
            {"name": "tcp_bypass", "config": {"name": "tcp_bypass", "idle-timeout": 900,
                                               "tcp-state-bypass": true}}]}})
    };
    json!({
        "access-lists": {"access-list": [{
            "name": "StatelessTraffic", "config": {"name": "StatelessTraffic"},
            "entries": {"entry": [
                entry(10, "198.18.1.0/24", "198.19.1.0/24", "Outbound Traffic"),
                entry(20, "198.19.1.0/24", "198.18.1.0/24", "Inbound Traffic"),
            ]}}]},
        "classes": {"class": [{"name": "tcp_bypass",
            "config": {"name": "tcp_bypass", "match-access-list": "StatelessTraffic"}}]},
        "policies": {"policy": [policy("Inside-policy"), policy("MPLS-policy")]},
        "service-policies": {"service-policy": [
            {"interface": "Inside", "config": {"interface": "Inside", "policy": "Inside-policy"}},
            {"interface": "MPLS", "config": {"interface": "MPLS", "policy": "MPLS-policy"}}
        ]}
    })
}

fn expected_link_state() -> Value {
    let member = |n: &str| json!({"name": n, "config": {"name": n}});
    let downstream: Vec<Value> = (1..=40).map(|i| member(&format!("Gi1/{i}"))).collect();
    json!({"groups": {"group": [{
        "id": 1,
        "config": {"id": 1, "enabled": true},
        "upstream": {"interfaces": {"interface": [member("Po11")]}},
        "downstream": {"interfaces": {"interface": downstream}}
    }]}})
}

#[test]
fn every_line_of_the_reference_translates() {
    let t = translate(REFERENCE);
    assert!(t.problems.is_empty(), "{:#?}", t.problems);
}

#[test]
fn the_set_reproduces_the_reference() {
    let updates = translate(REFERENCE).updates().unwrap();
    assert_eq!(
        updates,
        vec![
            (
                "/tether-conntrack-bypass:bypass".to_string(),
                expected_bypass()
            ),
            (
                "/tether-link-state:link-state".to_string(),
                expected_link_state()
            ),
        ]
    );
}

#[test]
fn the_reference_pasted_with_prompts_translates_the_same() {
    // The IOS half as the reference shows it, typed at the switch's prompts.
    let session = "\
HQ4948A(config)#link state track 1
HQ4948A(config)#int po11
HQ4948A(config-if)#link state group 1 upstream
HQ4948A(config)#int range g1/1 \u{2013} 40
HQ4948A(config-if-range)#link state group 1 downstream
";
    let t = translate(session);
    assert!(t.problems.is_empty(), "{:#?}", t.problems);
    assert_eq!(
        t.updates().unwrap(),
        vec![(
            "/tether-link-state:link-state".to_string(),
            expected_link_state()
        )]
    );
}

#[test]
fn an_interface_map_puts_the_reference_on_linux_names() {
    use tetherctl::import::rename::{InterfaceMap, non_linux_names};
    let mut t = translate(REFERENCE);
    // Unmapped, the 40 Gi1/N downstreams cannot be Linux interfaces ('/').
    let before = non_linux_names(&t.config);
    assert_eq!(before.len(), 40, "{before:?}");
    let mut map = InterfaceMap::default();
    map.add_file("# HQ4948A ports on this box\nGigabitEthernet1/1 - 40  swp1-40\nPo11=bond0\n")
        .unwrap();
    map.apply(&mut t.config);
    assert!(non_linux_names(&t.config).is_empty());
    let updates = t.updates().unwrap();
    let ls = &updates
        .iter()
        .find(|(p, _)| p.contains("link-state"))
        .unwrap()
        .1;
    let g = &ls["groups"]["group"][0];
    assert_eq!(g["upstream"]["interfaces"]["interface"][0]["name"], "bond0");
    let down: Vec<&str> = g["downstream"]["interfaces"]["interface"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        down,
        (1..=40).map(|i| format!("swp{i}")).collect::<Vec<_>>()
    );
    // ASA nameif names are left alone unless mapped.
    let bp = &updates
        .iter()
        .find(|(p, _)| p.contains("bypass"))
        .unwrap()
        .1;
    assert_eq!(
        bp["service-policies"]["service-policy"][0]["interface"],
        "Inside"
    );
}
