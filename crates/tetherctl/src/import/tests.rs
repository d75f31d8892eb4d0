#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use super::*;

const BYP: &str = "/tether-conntrack-bypass:bypass";
const LST: &str = "/tether-link-state:link-state";

fn updates(text: &str) -> Vec<(String, Value)> {
    let t = translate(text);
    assert!(
        t.problems.is_empty(),
        "unexpected problems: {:#?}",
        t.problems
    );
    t.updates().unwrap()
}

/// The value set at `path`, or panics.
fn value_at(text: &str, path: &str) -> Value {
    updates(text)
        .into_iter()
        .find(|(p, _)| p == path)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no update of {path}"))
}

fn problems(text: &str) -> Vec<String> {
    translate(text)
        .problems
        .iter()
        .map(ToString::to_string)
        .collect()
}

// ===== access-lists =====

#[test]
fn access_list_lines_become_entries_10_20_with_remarks() {
    let v = value_at(
        "access-list A remark first\n\
         access-list A remark  second  line\n\
         access-list A extended permit tcp any host 198.19.0.1 eq 443\n\
         access-list B permit udp any any\n\
         access-list A extended deny ip any any log\n",
        BYP,
    );
    assert_eq!(
        v,
        json!({"access-lists": {"access-list": [
            {"name": "A", "config": {"name": "A"}, "entries": {"entry": [
                {"sequence": 10, "config": {"sequence": 10, "action": "permit", "protocol": "tcp",
                    "destination-prefix": "198.19.0.1/32", "destination-port": "443",
                    "remark": "first second  line"}},
                {"sequence": 20, "config": {"sequence": 20, "action": "deny", "protocol": "ip"}}
            ]}},
            {"name": "B", "config": {"name": "B"}, "entries": {"entry": [
                {"sequence": 10, "config": {"sequence": 10, "action": "permit", "protocol": "udp"}}
            ]}}
        ]}})
    );
}

#[test]
fn ios_access_lists_use_wildcard_masks_and_their_sequence_numbers() {
    let v = value_at(
        "access-list 101 permit tcp 198.18.1.0 0.0.0.255 any eq 22\n\
         ip access-list extended SITES\n\
         \x20remark to the DC\n\
         \x2015 permit tcp 198.18.0.0 0.0.255.255 198.19.0.0 0.0.255.255\n\
         \x20permit udp any any eq 53\n\
         \x20deny   ip any any\n\
         ipv6 access-list V6\n\
         \x20sequence 5 permit tcp 2001:db8::/32 any eq 443\n",
        BYP,
    );
    let acls = &v["access-lists"]["access-list"];
    assert_eq!(
        acls[0]["entries"]["entry"][0]["config"],
        json!({"sequence": 10, "action": "permit", "protocol": "tcp",
               "source-prefix": "198.18.1.0/24", "destination-port": "22"})
    );
    let seqs: Vec<u64> = acls[1]["entries"]["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["sequence"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, vec![15, 25, 35]);
    assert_eq!(
        acls[1]["entries"]["entry"][0]["config"]["remark"],
        json!("to the DC")
    );
    assert_eq!(
        acls[1]["entries"]["entry"][0]["config"]["destination-prefix"],
        json!("198.19.0.0/16")
    );
    assert_eq!(
        acls[2]["entries"]["entry"][0]["config"],
        json!({"sequence": 5, "action": "permit", "protocol": "tcp",
               "source-prefix": "2001:db8::/32", "destination-port": "443"})
    );
}

#[test]
fn access_list_problems_name_the_line_and_the_reason() {
    let cases: Vec<(&str, &str)> = vec![
        (
            "access-list A extended permit tcp object-group SITES any",
            "line 1: access-list A extended permit tcp object-group SITES any: source object-group SITES cannot be translated",
        ),
        (
            "access-list A extended permit tcp log disable",
            "line 1: access-list A extended permit tcp log disable: source address \"log\" is not any",
        ),
        (
            "access-list A standard permit 198.18.0.0 255.255.0.0",
            "standard access-lists select routes",
        ),
        (
            "access-list 10 permit 198.18.0.0 0.0.255.255",
            "IOS standard access-lists",
        ),
        (
            "access-list A line 3 extended permit ip any any",
            "'line N'",
        ),
        (
            "access-list Bad!Name extended permit ip any any",
            "is not accepted by Tether",
        ),
        (
            "access-list A remark dangling",
            "no entry of access-list A follows this remark",
        ),
        (
            "access-list A remark r\naccess-list A extended permit tcp any any neq 80",
            "its remark is dropped with it",
        ),
        (
            "access-list A webtype permit url any",
            "webtype access-lists",
        ),
        (
            "ip access-list standard S\n permit any",
            "standard access-lists",
        ),
        (
            "ip access-list extended E\n 10 permit tcp any any\n 10 deny ip any any",
            "line 3: 10 deny ip any any: sequence number 10 is used twice",
        ),
    ];
    for (text, want) in cases {
        let got = problems(text);
        assert!(
            got.iter().any(|p| p.contains(want)),
            "{text:?}: {got:#?} should contain {want:?}"
        );
    }
    // The second line of a standard ip access-list is reported as part of its block.
    assert!(
        problems("ip access-list standard S\n permit any")[1]
            .contains("part of the block at line 1")
    );
}

#[test]
fn a_long_remark_is_refused() {
    let long = "x".repeat(101);
    let text = format!("access-list A remark {long}\naccess-list A permit ip any any");
    let t = translate(&text);
    assert_eq!(t.problems.len(), 1);
    assert!(t.problems[0].why.contains("at most 100 characters"));
    assert_eq!(t.problems[0].line, 1);
}

// ===== class-map, policy-map, service-policy =====

#[test]
fn class_policy_and_service_policy_chain() {
    let v = value_at(
        "access-list ACL permit tcp any any\n\
         class-map match-any C\n\
         \x20match access-list ACL\n\
         policy-map P\n\
         \x20description bypass for the MPLS path\n\
         \x20class C\n\
         \x20\x20set connection timeout embryonic 0:00:30 idle 1:00:00 half-closed 0:10:00\n\
         \x20\x20set connection conn-max 1000 embryonic-conn-max 50\n\
         \x20\x20set connection advanced-options tcp-state-bypass\n\
         policy-map Q\n\
         \x20class C\n\
         service-policy P interface outside\n\
         service-policy Q global\n",
        BYP,
    );
    assert_eq!(
        v["classes"],
        json!({"class": [{"name": "C", "config": {"name": "C", "match-access-list": "ACL"}}]})
    );
    assert_eq!(
        v["policies"],
        json!({"policy": [
            {"name": "P", "config": {"name": "P", "description": "bypass for the MPLS path"},
             "classes": {"class": [{"name": "C", "config": {"name": "C", "embryonic-timeout": 30,
                                                          "idle-timeout": 3600, "half-closed-timeout": 600,
                                                          "conn-max": 1000, "embryonic-conn-max": 50,
                                                          "tcp-state-bypass": true}}]}},
            {"name": "Q", "config": {"name": "Q"},
             "classes": {"class": [{"name": "C", "config": {"name": "C"}}]}}
        ]})
    );
    assert_eq!(
        v["service-policies"],
        json!({"service-policy": [{"interface": "outside", "config": {"interface": "outside", "policy": "P"}}]})
    );
    assert_eq!(v["global-policy"], json!({"config": {"policy": "Q"}}));
}

#[test]
fn policy_map_problems() {
    let cases: Vec<(&str, &str)> = vec![
        (
            "policy-map P\n class C\n  set connection timeout idle 0:15:00 reset",
            "line 3: set connection timeout idle 0:15:00 reset: 'reset'",
        ),
        (
            "policy-map P\n class C\n  set connection timeout idle 0:00:00",
            "never time out",
        ),
        (
            "policy-map P\n class C\n  set connection timeout idle 1194:00:00",
            "outside what Tether accepts",
        ),
        (
            "policy-map P\n class C\n  set connection timeout idle 15:00",
            "H:MM:SS",
        ),
        (
            "policy-map P\n class C\n  set connection timeout half-closed 0:00:10",
            "half-closed 0:00:10 is outside what Tether accepts (0:00:30",
        ),
        (
            "policy-map P\n class C\n  set connection timeout dcd",
            "timeout dcd cannot be translated",
        ),
        (
            "policy-map P\n class C\n  set connection conn-max 2000001",
            "above what Tether accepts",
        ),
        (
            "policy-map P\n class C\n  set connection conn-max 10 per-client-max 5",
            "per-client-max cannot be translated",
        ),
        (
            "policy-map P\n class C\n  set connection random-sequence-number disable",
            "only 'set connection timeout",
        ),
        (
            "policy-map P\n class C\n  inspect ftp",
            "not translated in a policy-map",
        ),
        (
            "policy-map P\n class class-default\n  set connection advanced-options tcp-state-bypass",
            "line 3: set connection advanced-options tcp-state-bypass: under the class at line 2",
        ),
        (
            "policy-map P\n set connection advanced-options tcp-state-bypass",
            "outside a class",
        ),
        (
            "policy-map type inspect dns preset_dns_map\n parameters\n  message-length maximum 512",
            "line 3: message-length maximum 512: part of the block at line 1",
        ),
        (
            "class-map C\n match port tcp eq 80",
            "only 'match access-list ACL'",
        ),
        (
            "class-map C\n description web",
            "not translated in a class-map",
        ),
        (
            "class-map C\n match access-list A\n match access-list B",
            "already matches A",
        ),
        ("class-map C", "class-map C has no 'match access-list'"),
        ("class-map type inspect http C", "not typed ones"),
        (
            "service-policy P input",
            "expected 'service-policy POLICY interface NAME'",
        ),
        (
            "service-policy P interface",
            "expected 'service-policy POLICY interface NAME'",
        ),
    ];
    for (text, want) in cases {
        let got = problems(text);
        assert!(
            got.iter().any(|p| p.contains(want)),
            "{text:?}: {got:#?} should contain {want:?}"
        );
    }
}

// ===== link state tracking =====

fn group_json(id: u64, tracked: bool, up: &[&str], down: &[&str]) -> Value {
    let members = |names: &[&str]| json!({"interfaces": {"interface": names.iter().map(|n| json!({"name": n, "config": {"name": n}})).collect::<Vec<_>>()}});
    let mut g = json!({"id": id, "config": {"id": id}});
    if tracked {
        g["config"]["enabled"] = json!(true);
    }
    if !up.is_empty() {
        g["upstream"] = members(up);
    }
    if !down.is_empty() {
        g["downstream"] = members(down);
    }
    g
}

#[test]
fn link_state_under_interfaces_and_ranges() {
    let t = translate(
        "link state track 2\n\
         interface TenGigabitEthernet1/49\n\
         \x20link state group 2 upstream\n\
         interface range gi1/1 - 2 , gi1/10\n\
         \x20link state group 2 downstream\n\
         interface GigabitEthernet 1/3\n\
         \x20link state group 3 downstream\n",
    );
    assert!(t.problems.is_empty(), "{:?}", t.problems);
    assert_eq!(
        t.updates().unwrap(),
        vec![(
            LST.to_string(),
            json!({"groups": {"group": [
                group_json(2, true, &["Te1/49"], &["Gi1/1", "Gi1/2", "Gi1/10"]),
                group_json(3, false, &[], &["Gi1/3"]),
            ]}})
        )]
    );
}

#[test]
fn prompts_from_a_terminal_session_are_accepted() {
    let t = translate(
        "HQ4948A#conf t\n\
         HQ4948A(config)#link state track 1\n\
         HQ4948A(config)#int po11\n\
         HQ4948A(config-if)#link state group 1 upstream\n\
         HQ4948A(config-if)#exit\n\
         HQ4948A(config)#int range g1/1 \u{2013} 2\n\
         HQ4948A(config-if-range)#link state group 1 downstream\n\
         HQ4948A(config-if-range)#end\n",
    );
    assert!(t.problems.is_empty(), "{:?}", t.problems);
    assert_eq!(
        t.updates().unwrap()[0].1,
        json!({"groups": {"group": [group_json(1, true, &["Po11"], &["Gi1/1", "Gi1/2"])]}})
    );
}

#[test]
fn link_state_problems() {
    let cases: Vec<(&str, &str)> = vec![
        ("link state track 0", "not a number from 1 to 4096"),
        ("link state track 5000", "not a number from 1 to 4096"),
        ("link state track", "expected 'link state track N'"),
        (
            "int po11\n link state group 1 sideways",
            "upstream|downstream",
        ),
        (
            "int po11\n link state group x upstream",
            "not a number from 1 to 4096",
        ),
        ("int po11\n shutdown", "not translated under an interface"),
        (
            "int po11\n link state group 1 upstream\n link state group 1 downstream",
            "Po11 is already upstream of link state group 1",
        ),
        (
            "int po11\n link state group 1 upstream\nint po11\n link state group 2 upstream",
            "Po11 is already upstream of link state group 1; an interface belongs to one group",
        ),
        (
            "int range g1/4 - 1\n link state group 1 downstream",
            "runs backwards",
        ),
        (
            "int range g1/4 - 1\n link state group 1 downstream",
            "line 2: link state group 1 downstream: part of the block at line 1",
        ),
        (
            "interface GigabitEthernet1/0/1.1000000000",
            "longer than 15",
        ),
        (
            "hostname HQ4948A",
            "not translated: tetherctl import translates",
        ),
    ];
    for (text, want) in cases {
        let got = problems(text);
        assert!(
            got.iter().any(|p| p.contains(want)),
            "{text:?}: {got:#?} should contain {want:?}"
        );
    }
}

#[test]
fn blank_lines_comments_and_session_commands_are_silent() {
    let t = translate("!\n: Saved\n\n# comment\nconfigure terminal\nend\nwrite memory\nexit\n");
    assert!(t.problems.is_empty(), "{:?}", t.problems);
    assert!(t.is_empty());
    assert!(t.updates().unwrap().is_empty());
}

#[test]
fn an_unindented_global_command_ends_the_block() {
    // Without indentation or prompts, `service-policy` is global, `link state group` is not.
    let t = translate(
        "policy-map P\nclass C\nset connection advanced-options tcp-state-bypass\nservice-policy P global\n",
    );
    assert!(t.problems.is_empty(), "{:?}", t.problems);
    let v = &t.updates().unwrap()[0].1;
    assert_eq!(v["global-policy"]["config"]["policy"], json!("P"));
    assert_eq!(
        v["policies"]["policy"][0]["classes"]["class"][0]["config"]["tcp-state-bypass"],
        json!(true)
    );
}

#[test]
fn summary_says_what_will_be_set() {
    let t = translate(include_str!("../../tests/fixtures/reference.cfg"));
    assert_eq!(
        t.summary()[..5],
        [
            "access-list StatelessTraffic: 2 entries (sequence 10, 20)",
            "class-map tcp_bypass: match access-list StatelessTraffic",
            "policy-map Inside-policy: class tcp_bypass idle 0:15:00 tcp-state-bypass",
            "policy-map MPLS-policy: class tcp_bypass idle 0:15:00 tcp-state-bypass",
            "service-policy Inside-policy interface Inside",
        ]
    );
    assert!(
        t.summary()[6]
            .starts_with("link state group 1 (track): upstream Po11; downstream Gi1/1 Gi1/2")
    );
}

#[test]
fn a_translated_value_the_schema_refuses_is_an_error_naming_the_node() {
    // The parser refuses such names itself; emit checks again through the generated types,
    // so a parser gap cannot turn into a Set the daemon refuses.
    let mut config = ir::Config::default();
    config.access_list("_x");
    let err = emit::updates(&config).unwrap_err();
    assert!(err.node.ends_with("/access-list/name"), "{err}");
    assert!(err.to_string().contains("\"_x\""), "{err}");
    let mut config = ir::Config::default();
    config.policy_map(&"p".repeat(300));
    let err = emit::updates(&config).unwrap_err();
    assert!(err.node.ends_with("/policy/name"), "{err}");
    assert!(err.value.chars().count() <= 80, "{err}");
    let mut config = ir::Config::default();
    config.link_state_group(0).upstream.push("Gi1/1".into());
    assert!(
        emit::updates(&config)
            .unwrap_err()
            .node
            .ends_with("/group/id")
    );
}
