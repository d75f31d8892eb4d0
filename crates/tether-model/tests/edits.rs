//! The edit engine against the real modules: the reference scenario goes in and comes out,
//! and every kind of bad input is refused with its path while the tree stays unchanged.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use serde_json::json;
use tether_model::{ConfigTree, Edit, ModelError, Schema, SchemaOptions};

const BYP: &str = "/tether-conntrack-bypass:bypass";
const LST: &str = "/tether-link-state:link-state";

fn schema() -> &'static Schema {
    static S: std::sync::OnceLock<&'static Schema> = std::sync::OnceLock::new();
    S.get_or_init(|| Schema::load(SchemaOptions { simulation: true }).expect("schema"))
}

fn reference() -> ConfigTree {
    let mut t = ConfigTree::new(schema());
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/reference.json")).unwrap();
    t.apply(&[Edit::update("/", doc)])
        .expect("reference config is valid");
    t
}

fn entry(seq: u32) -> String {
    format!(
        "{BYP}/access-lists/access-list[name='StatelessTraffic']/entries/entry[sequence='{seq}']"
    )
}

#[test]
fn reference_config_round_trips_through_the_typed_datastore() {
    let t = reference();
    let typed = t.typed().unwrap();
    let byp = typed.tether_conntrack_bypass.bypass.as_ref().unwrap();
    let acl = &byp.access_lists.as_ref().unwrap().access_list[0];
    assert_eq!(acl.name.as_str(), "StatelessTraffic");
    let e = &acl.entries.as_ref().unwrap().entry;
    assert_eq!(e.len(), 2);
    let pol = &byp.policies.as_ref().unwrap().policy;
    let class_cfg = pol[0].classes.as_ref().unwrap().class[0]
        .config
        .as_ref()
        .unwrap();
    assert_eq!(class_cfg.idle_timeout.map(|v| v.get()), Some(900));
    assert_eq!(class_cfg.tcp_state_bypass, Some(true));
    let lst = typed.tether_link_state.link_state.as_ref().unwrap();
    let g = &lst.groups.as_ref().unwrap().group[0];
    // Defaults are filled in by libyang.
    assert_eq!(g.config.as_ref().unwrap().enabled, Some(true));
    // Serialising the typed datastore and loading it again gives the same datastore (the
    // typed view includes defaults, which the reload makes explicit).
    let again = serde_json::to_value(&typed).unwrap();
    let mut t2 = ConfigTree::new(schema());
    t2.apply(&[Edit::replace("/", again)]).unwrap();
    assert_eq!(t2.typed().unwrap(), typed);
    assert!(
        t.leaves()
            .iter()
            .all(|(k, v)| t2.leaves().get(k) == Some(v))
    );
}

#[test]
fn leaf_updates_replace_and_delete_report_exact_changes() {
    let mut t = reference();
    let p = format!("{}/config/remark", entry(10));
    let ch = t.apply(&[Edit::update(&p, json!("changed"))]).unwrap();
    assert_eq!(ch.len(), 1);
    assert_eq!(ch[0].old.as_deref(), Some("Outbound Traffic"));
    assert_eq!(ch[0].new.as_deref(), Some("changed"));

    // Replace of one container replaces only that subtree.
    let before = t.leaves();
    let cfg = format!("{}/config", entry(20));
    t.apply(&[Edit::replace(
        &cfg,
        json!({"sequence": 20, "action": "deny", "protocol": "ip"}),
    )])
    .unwrap();
    let after = t.leaves();
    assert_eq!(
        after.get(&format!("{cfg}/action")).map(String::as_str),
        Some("deny")
    );
    assert!(!after.contains_key(&format!("{cfg}/source-prefix")));
    assert_eq!(
        before.get(&format!("{}/config/remark", entry(10))),
        after.get(&format!("{}/config/remark", entry(10)))
    );

    // Deleting an absent node succeeds and changes nothing.
    let ch = t.apply(&[Edit::delete(entry(99))]).unwrap();
    assert!(ch.is_empty());
    // Deleting a group removes all its leaves.
    let ch = t
        .apply(&[Edit::delete(format!("{LST}/groups/group[id='1']"))])
        .unwrap();
    assert!(ch.iter().all(|c| c.new.is_none()) && ch.len() >= 6);
}

#[test]
fn leaf_changes_reverse_exactly() {
    let mut t = reference();
    let before = t.leaves();
    let ch = t
        .apply(&[
            Edit::delete(format!("{BYP}/service-policies")),
            Edit::update(
                format!("{}/config/destination-port", entry(10)),
                json!("443"),
            ),
            Edit::update(
                format!("{LST}/groups/group[id='7']/config"),
                json!({"id": 7, "up-delay": 5}),
            ),
        ])
        .unwrap();
    let back: Vec<_> = ch.iter().map(|c| c.reversed()).collect();
    let edits = t.edits_for_changes(&back).unwrap();
    t.apply(&edits).unwrap();
    assert_eq!(t.leaves(), before);
}

/// Each case: (description, edits, expected path fragment in the error).
fn bad_inputs() -> Vec<(&'static str, Vec<Edit>, &'static str)> {
    let e10 = entry(10);
    vec![
        (
            "unknown module",
            vec![Edit::update("/no-such-module:x", json!({}))],
            "no-such-module",
        ),
        (
            "unknown leaf",
            vec![Edit::update(format!("{e10}/config/colour"), json!("red"))],
            "colour",
        ),
        (
            "unknown member in a container",
            vec![Edit::update(
                format!("{e10}/config"),
                json!({"colour": "red"}),
            )],
            "config",
        ),
        (
            "string where a number belongs",
            vec![Edit::update(
                format!("{LST}/groups/group[id='1']/config/up-delay"),
                json!("soon"),
            )],
            "up-delay",
        ),
        (
            "idle-timeout 0",
            vec![Edit::update(
                format!(
                    "{BYP}/policies/policy[name='Inside-policy']/classes/class[name='tcp_bypass']/config/idle-timeout"
                ),
                json!(0),
            )],
            "idle-timeout",
        ),
        (
            "idle-timeout above the range",
            vec![Edit::update(
                format!(
                    "{BYP}/policies/policy[name='Inside-policy']/classes/class[name='tcp_bypass']/config/idle-timeout"
                ),
                json!(4294801),
            )],
            "idle-timeout",
        ),
        (
            "port 70000",
            vec![Edit::update(
                format!("{e10}/config/destination-port"),
                json!("70000"),
            )],
            "destination-port",
        ),
        (
            "prefix /33",
            vec![Edit::update(
                format!("{e10}/config/source-prefix"),
                json!("10.0.0.0/33"),
            )],
            "source-prefix",
        ),
        (
            "prefix /129",
            vec![Edit::update(
                format!("{e10}/config/source-prefix"),
                json!("2001:db8::/129"),
            )],
            "source-prefix",
        ),
        (
            "class naming no access-list",
            vec![Edit::update(
                format!("{BYP}/classes/class[name='c2']/config"),
                json!({"name": "c2", "match-access-list": "Nope"}),
            )],
            "match-access-list",
        ),
        (
            "policy class naming no class",
            vec![Edit::update(
                format!(
                    "{BYP}/policies/policy[name='Inside-policy']/classes/class[name='ghost']/config"
                ),
                json!({"name": "ghost"}),
            )],
            "ghost",
        ),
        (
            "upstream in 1 and downstream in 2",
            vec![Edit::update(
                format!("{LST}/groups/group[id='2']"),
                json!({"config": {"id": 2}, "downstream": {"interfaces": {"interface": [{"name": "Po11", "config": {"name": "Po11"}}]}}}),
            )],
            "Po11",
        ),
        (
            "upstream and downstream in one group",
            vec![Edit::update(
                format!(
                    "{LST}/groups/group[id='1']/downstream/interfaces/interface[name='Po11']/config"
                ),
                json!({"name": "Po11"}),
            )],
            "Po11",
        ),
        (
            "a second service-policy on one interface",
            vec![Edit::update(
                format!("{BYP}/service-policies/service-policy[interface='Inside']/config"),
                json!({"interface": "MPLS", "policy": "MPLS-policy"}),
            )],
            "Inside",
        ),
        (
            "malformed JSON value shape",
            vec![Edit::update(
                format!("{e10}/config"),
                json!("not an object"),
            )],
            "config",
        ),
        (
            "an empty key",
            vec![Edit::update(
                format!("{BYP}/classes/class[name='']/config"),
                json!({"name": "", "match-access-list": "StatelessTraffic"}),
            )],
            "class",
        ),
        (
            "state data",
            vec![Edit::update(
                format!("{LST}/groups/group[id='1']/state/status"),
                json!("up"),
            )],
            "state",
        ),
        (
            "a later part of the transaction is bad",
            vec![
                Edit::update(format!("{e10}/config/remark"), json!("fine")),
                Edit::update(format!("{e10}/config/protocol"), json!("icmp")),
                Edit::update(format!("{e10}/config/destination-port"), json!("22")),
            ],
            "entry",
        ),
    ]
}

#[test]
fn bad_input_is_refused_with_its_path_and_changes_nothing() {
    for (what, edits, fragment) in bad_inputs() {
        let mut t = reference();
        let before = t.leaves();
        let json_before = t.to_json(true).unwrap();
        let err = t.apply(&edits).expect_err(what);
        assert!(err.is_user_error(), "{what}: {err}");
        let text = err.to_string();
        assert!(
            text.contains(fragment),
            "{what}: error {text:?} does not name {fragment:?}"
        );
        assert!(
            err.path().is_some() || matches!(err, ModelError::Path { .. }),
            "{what}: no path in {err:?}"
        );
        assert_eq!(t.leaves(), before, "{what}: tree changed");
        assert_eq!(
            t.to_json(true).unwrap(),
            json_before,
            "{what}: defaults changed"
        );
    }
}

#[test]
fn malformed_json_text_is_refused() {
    // The gNMI layer hands over serde_json values; text that is not JSON never reaches the
    // engine. What the engine sees of "bad JSON" is a value of the wrong shape.
    assert!(serde_json::from_str::<serde_json::Value>("{\"a\": ").is_err());
}

#[test]
fn lenient_scalars_from_stock_clients_are_accepted() {
    let mut t = reference();
    // pygnmi: bare strings, numbers as strings, booleans as strings.
    t.apply(&[
        Edit::update(
            format!("{LST}/groups/group[id='1']/config/up-delay"),
            json!("5"),
        ),
        Edit::update(
            format!("{LST}/groups/group[id='1']/config/enabled"),
            json!("false"),
        ),
        Edit::update(format!("{}/config/protocol", entry(10)), json!("6")),
        Edit::update(
            format!("{LST}/groups/group[id='1']/config/description"),
            json!(42),
        ),
    ])
    .unwrap();
    let l = t.leaves();
    assert_eq!(
        l[&format!("{LST}/groups/group[id='1']/config/up-delay")],
        "5"
    );
    assert_eq!(
        l[&format!("{LST}/groups/group[id='1']/config/enabled")],
        "false"
    );
}

#[test]
fn no_module_references_another_modules_data() {
    // ConfigTree validates only the modules a transaction touched; that is sound only while
    // no leafref or must of one module points into another's data.
    for m in tether_model::MODULES {
        for (i, line) in m.text.lines().enumerate() {
            let l = line.trim();
            if l.starts_with("path") || l.starts_with("must") {
                for other in tether_model::MODULES.iter().filter(|o| o.name != m.name) {
                    assert!(
                        !l.contains(&format!("/{}:", other.prefix)),
                        "{}:{}: {l}",
                        m.name,
                        i + 1
                    );
                }
            }
        }
    }
}

#[test]
fn generated_newtypes_enforce_yang_ranges() {
    use tether_model::tether_link_state::link_state::groups::group::config::GroupId;
    assert!(GroupId::new(0).is_err());
    assert!(GroupId::new(4096).is_ok());
    assert!(GroupId::new(4097).is_err());
    assert!(serde_json::from_str::<GroupId>("4097").is_err());
}

#[test]
fn entries_are_self_contained() {
    // ConfigTree hides untouched access-list entries from validation; that is sound only
    // while nothing outside an entry refers into one, and an entry's rules stay inside it.
    let m = tether_model::MODULES
        .iter()
        .find(|m| m.name == "tether-conntrack-bypass")
        .unwrap();
    for (i, line) in m.text.lines().enumerate() {
        let l = line.trim();
        if l.starts_with("path") || l.starts_with("must") || l.starts_with("\"") {
            assert!(
                !l.contains("entries/") && !l.contains(":entry"),
                "line {}: {l}",
                i + 1
            );
            assert!(!l.contains("../../.."), "line {}: {l}", i + 1);
        }
    }
}

#[test]
fn a_bad_entry_among_many_is_still_caught_and_untouched_entries_survive() {
    let mut t = reference();
    let many: Vec<_> = (100..400u32)
        .map(|s| json!({"sequence": s, "config": {"sequence": s, "action": "permit", "protocol": "udp", "destination-port": "53"}}))
        .collect();
    t.apply(&[Edit::update(
        format!("{BYP}/access-lists/access-list[name='StatelessTraffic']/entries"),
        json!({"entry": many}),
    )])
    .unwrap();
    let before = t.leaves();
    // A one-leaf change inside one entry (validated alone) that breaks its must.
    let err = t
        .apply(&[Edit::update(
            format!("{}/config/protocol", entry(150)),
            json!("icmp"),
        )])
        .unwrap_err();
    assert!(err.to_string().contains("sequence='150'"), "{err}");
    assert_eq!(t.leaves(), before);
    // A valid one-leaf change keeps every other entry.
    t.apply(&[Edit::update(
        format!("{}/config/remark", entry(150)),
        json!("dns"),
    )])
    .unwrap();
    assert_eq!(t.leaves().len(), before.len() + 1);
    // Deleting the access-list a class uses is refused even though entries were hidden.
    let err = t
        .apply(&[Edit::delete(format!(
            "{BYP}/access-lists/access-list[name='StatelessTraffic']"
        ))])
        .unwrap_err();
    assert!(
        err.to_string().contains("match-access-list")
            || err.to_string().contains("StatelessTraffic"),
        "{err}"
    );
}

#[test]
fn a_new_entry_created_through_a_deep_path_gets_its_config_key() {
    let mut t = reference();
    t.apply(&[Edit::update(
        format!("{LST}/groups/group[id='7']/config/description"),
        json!("spare"),
    )])
    .unwrap();
    let l = t.leaves();
    assert_eq!(
        l.get(&format!("{LST}/groups/group[id='7']/config/id"))
            .map(String::as_str),
        Some("7")
    );
    // Nested entries too: a downstream member of a new group.
    t.apply(&[Edit::update(
        format!(
            "{LST}/groups/group[id='8']/downstream/interfaces/interface[name='Gi2/1']/config/name"
        ),
        json!("Gi2/1"),
    )])
    .unwrap();
    assert_eq!(
        t.leaves()
            .get(&format!("{LST}/groups/group[id='8']/config/id"))
            .map(String::as_str),
        Some("8")
    );
    // A body that contradicts the path is still refused.
    let err = t
        .apply(&[Edit::update(
            format!("{LST}/groups/group[id='9']/config"),
            json!({"id": 10}),
        )])
        .unwrap_err();
    assert!(err.to_string().contains("group"), "{err}");
}

/// A bad value beneath the edited node is named by its whole path, not by its path from the
/// value's own root (which is what libyang reports for a value parsed beneath a parent).
#[test]
fn a_bad_value_beneath_the_edit_is_named_by_its_whole_path() {
    let cases = [
        (
            LST.to_string(),
            json!({"groups": {"group": [{"id": "x"}]}}),
            format!("{LST}/groups/group/id"),
        ),
        (
            format!("{LST}/groups"),
            json!({"group": [{"id": "x"}]}),
            format!("{LST}/groups/group/id"),
        ),
        (
            format!("{LST}/groups/group[id='4']"),
            json!({"id": 4, "config": {"id": 4, "up-delay": "soon"}}),
            format!("{LST}/groups/group[id='4']/config/up-delay"),
        ),
    ];
    for (at, value, want) in cases {
        let mut t = reference();
        let before = t.leaves();
        let err = t.apply(&[Edit::update(at.clone(), value)]).expect_err(&at);
        assert_eq!(err.path(), Some(want.as_str()), "{at}: {err}");
        assert_eq!(t.leaves(), before, "{at}: tree changed");
    }
}
