//! import → export → import is a fixed point: the Set content of the exported text equals the
//! original's, and exporting that again prints the same text. On the reference and on larger
//! fixtures (several access-lists in ASA and IOS form, remarks, ports and ranges, IPv6,
//! several classes, policies, service-policies and link state groups, Linux names).

#![allow(clippy::unwrap_used)]

use serde_json::Value;
use tetherctl::export::export;
use tetherctl::import::translate;

/// The Set content as (bypass, link-state) values, `Null` where the text sets nothing.
fn set_content(text: &str) -> (Value, Value) {
    let t = translate(text);
    assert!(
        t.problems.is_empty(),
        "untranslated lines: {:?}",
        t.problems
    );
    let mut bypass = Value::Null;
    let mut link_state = Value::Null;
    for (path, v) in t.updates().unwrap() {
        if path.ends_with(":bypass") {
            bypass = v;
        } else {
            link_state = v;
        }
    }
    (bypass, link_state)
}

fn fixed_point(text: &str) -> String {
    let (b1, l1) = set_content(text);
    let e1 = export(&b1, &l1).unwrap();
    assert!(e1.untranslatable.is_empty(), "{:?}", e1.untranslatable);
    let (b2, l2) = set_content(&e1.text);
    assert_eq!(b1, b2, "bypass differs after export:\n{}", e1.text);
    assert_eq!(l1, l2, "link-state differs after export:\n{}", e1.text);
    let e2 = export(&b2, &l2).unwrap();
    assert_eq!(e1.text, e2.text);
    e1.text
}

#[test]
fn the_reference_is_a_fixed_point_and_reads_as_the_asa_and_the_switch() {
    let text = fixed_point(include_str!("fixtures/reference.cfg"));
    assert_eq!(
        text,
        "\
access-list StatelessTraffic remark Outbound Traffic
access-list StatelessTraffic extended permit tcp 198.18.1.0 255.255.255.0 198.19.1.0 255.255.255.0
access-list StatelessTraffic remark Inbound Traffic
access-list StatelessTraffic extended permit tcp 198.19.1.0 255.255.255.0 198.18.1.0 255.255.255.0
!
class-map tcp_bypass
 match access-list StatelessTraffic
!
policy-map Inside-policy
 class tcp_bypass
  set connection timeout idle 0:15:00
  set connection advanced-options tcp-state-bypass
policy-map MPLS-policy
 class tcp_bypass
  set connection timeout idle 0:15:00
  set connection advanced-options tcp-state-bypass
!
service-policy Inside-policy interface Inside
service-policy MPLS-policy interface MPLS
!
link state track 1
interface Po11
 link state group 1 upstream
interface range Gi1/1 - 40
 link state group 1 downstream
"
    );
}

#[test]
fn a_larger_asa_and_ios_configuration_is_a_fixed_point() {
    let text = fixed_point(include_str!("fixtures/export-large-asa.cfg"));
    // IOS numbering survives as an IOS block; ASA-numbered lists stay ASA lines.
    assert!(text.contains("ip access-list extended Storage\n remark iSCSI from the hosts\n 15 permit tcp 198.18.6.0 0.0.0.255 198.19.6.0 0.0.0.255 eq 3260\n"));
    assert!(text.contains(
        "access-list WebFarm remark Web servers, both directions (two remark lines join)\n"
    ));
    assert!(text.contains("access-list WebFarm extended permit tcp 198.19.2.0 255.255.255.0 range 0 1023 any range 1024 65535\n"));
    assert!(text.contains("access-list Tunnels extended permit 47 198.18.4.0 255.255.252.0"));
    assert!(text.contains("access-list V6 extended permit ip host 2001:db8::1 any\n"));
    assert!(text.contains("  set connection timeout embryonic 0:00:20 idle 1:00:00\n"));
    assert!(text.contains("service-policy global_policy global\n"));
    assert!(text.contains(
        "interface range Gi1/1 - 20\n link state group 1 downstream\ninterface range Gi1/23 - 24\n"
    ));
    assert!(text.contains("interface Te1/49\n link state group 2 upstream\n"));
}

#[test]
fn linux_names_are_a_fixed_point() {
    let text = fixed_point(include_str!("fixtures/export-large-linux.cfg"));
    assert!(text.contains("service-policy edge interface enp3s0f1.100\n"));
    assert!(text.contains("interface range swp1 - 12\n"));
    assert!(text.contains("interface uplink_b-2\n link state group 9 upstream\n"));
    assert!(
        text.contains(
            "interface range swp13 - 14\n link state group 9 downstream\ninterface swp16\n"
        )
    );
    // Group 9 had no `link state track 9` (enabled left at its default): nor has the export.
    assert!(text.contains("link state track 7\ninterface bond0\n"));
    assert!(!text.contains("link state track 9"));
}

#[test]
fn what_ios_cannot_say_is_reported_not_dropped() {
    let link_state = serde_json::json!({"groups": {"group": [{
        "id": 3,
        "config": {"id": 3, "description": "ToR A", "enabled": false, "min-upstream-up": 2,
                   "up-delay": 30, "down-delay": 0},
        "upstream": {"interfaces": {"interface": [{"name": "Po1", "config": {"name": "Po1"}}]}}
    }]}});
    let e = export(&Value::Null, &link_state).unwrap();
    assert_eq!(e.text, "interface Po1\n link state group 3 upstream\n");
    let all = e.untranslatable.join("\n");
    for what in [
        "description \"ToR A\"",
        "min-upstream-up 2",
        "up-delay 30 s",
        "enabled false",
    ] {
        assert!(all.contains(what), "{what} missing from {all}");
    }
    assert!(
        !all.contains("down-delay"),
        "a default needs no command: {all}"
    );
}

#[test]
fn a_get_with_module_qualified_members_reads_the_same() {
    let (b, l) = set_content(include_str!("fixtures/reference.cfg"));
    let qualified = |module: &str, top: &str, v: &Value| {
        let mut o = serde_json::Map::new();
        o.insert(format!("{module}:{top}"), v.clone());
        Value::Object(o)
    };
    let plain = export(&b, &l).unwrap();
    let qual = export(
        &qualified("tether-conntrack-bypass", "bypass", &b),
        &qualified("tether-link-state", "link-state", &l),
    )
    .unwrap();
    assert_eq!(plain, qual);
    assert_eq!(export(&Value::Null, &Value::Null).unwrap().text, "");
}
