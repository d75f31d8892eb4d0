//! Path resolution against the real schema.

use super::*;
use tether_model::SchemaOptions;

fn schema() -> &'static Schema {
    static S: std::sync::OnceLock<&'static Schema> = std::sync::OnceLock::new();
    S.get_or_init(|| Schema::load(SchemaOptions { simulation: true }).unwrap())
}

fn p(origin: &str, elems: Elems<'_>) -> Path {
    Path {
        origin: origin.into(),
        elem: elems
            .iter()
            .map(|(n, k)| PathElem {
                name: n.to_string(),
                key: k
                    .iter()
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .collect(),
            })
            .collect(),
        ..Default::default()
    }
}

/// Path elements as (name, keys).
type Elems<'a> = &'a [(&'a str, &'a [(&'a str, &'a str)])];

const GROUP: &str = "/tether-link-state:link-state/groups/group[id='1']/config/enabled";

#[test]
fn three_spellings_of_one_path() {
    let tail: Elems<'_> = &[
        ("groups", &[]),
        ("group", &[("id", "1")]),
        ("config", &[]),
        ("enabled", &[]),
    ];
    let qualified = [&[("tether-link-state:link-state", &[][..])][..], tail].concat();
    let bare = [&[("link-state", &[][..])][..], tail].concat();
    for (origin, elems) in [
        ("", &qualified),
        ("", &bare),
        ("tether-link-state", &bare),
        ("tether-link-state", &qualified),
    ] {
        let r = resolve(schema(), None, Some(&p(origin, elems))).unwrap();
        assert_eq!(r.data_path().unwrap(), GROUP, "origin {origin:?}");
    }
}

#[test]
fn origins_other_than_none_or_a_module_are_refused_by_name() {
    let bare: Elems<'_> = &[("link-state", &[])];
    let qualified: Elems<'_> = &[("tether-link-state:link-state", &[])];
    for origin in ["openconfig", "cli", "rfc7951", "tether-link-state2", "x"] {
        let r = resolve(schema(), None, Some(&p(origin, bare)));
        assert!(
            matches!(&r, Err(PathError::Malformed(m)) if m.contains(&format!("origin \"{origin}\""))),
            "{origin}: {r:?}"
        );
    }
    // A module-qualified first element must agree with the origin.
    let r = resolve(schema(), None, Some(&p("tether-interfaces", qualified)));
    assert!(matches!(r, Err(PathError::Malformed(_))), "{r:?}");
    // Origin in both prefix and path (section 2.7), even the same one.
    let prefix = p("tether-link-state", &[("link-state", &[])]);
    let path = p("tether-link-state", &[("groups", &[])]);
    let r = resolve(schema(), Some(&prefix), Some(&path));
    assert!(
        matches!(&r, Err(PathError::Malformed(m)) if m.contains("both the prefix")),
        "{r:?}"
    );
    // In one of them it is fine.
    let path = p("", &[("groups", &[])]);
    assert!(resolve(schema(), Some(&prefix), Some(&path)).is_ok());
    // An origin names a schema: it cannot be very long in a message.
    let long = "o".repeat(5000);
    let r = resolve(schema(), None, Some(&p(&long, bare)));
    assert!(r.unwrap_err().message().len() < 1024);
}

#[test]
fn prefix_and_path_join_and_target_is_kept() {
    let mut prefix = p("", &[("link-state", &[]), ("groups", &[])]);
    prefix.target = "dut".into();
    let path = p("", &[("group", &[("id", "7")])]);
    let r = resolve(schema(), Some(&prefix), Some(&path)).unwrap();
    assert_eq!(
        r.data_path().unwrap(),
        "/tether-link-state:link-state/groups/group[id='7']"
    );
    assert_eq!(r.target, "dut");
    assert_eq!(
        resolve(schema(), None, None).unwrap().data_path().unwrap(),
        "/"
    );
}

#[test]
fn keys_are_quoted_and_ordered() {
    // No key of Tether's schema may hold a quote, so the quoting is checked on its own...
    assert_eq!(
        predicates(&[("name".into(), Some("it's".into())), ("k".into(), None)]),
        "[name=\"it's\"][k='*']"
    );
    // ...and such a value in a path is an invalid key value.
    let r = resolve(
        schema(),
        None,
        Some(&p(
            "",
            &[
                ("bypass", &[]),
                ("access-lists", &[]),
                ("access-list", &[("name", "it's")]),
            ],
        )),
    );
    assert!(
        matches!(&r, Err(PathError::Malformed(m)) if m.contains("invalid key value")),
        "{r:?}"
    );
    let both = resolve(
        schema(),
        None,
        Some(&p(
            "",
            &[
                ("bypass", &[]),
                ("access-lists", &[]),
                ("access-list", &[("name", "a'\"b")]),
            ],
        )),
    );
    assert!(matches!(both, Err(PathError::Malformed(_))));
}

#[test]
fn bad_paths() {
    let cases: &[(&str, Elems<'_>)] = &[
        ("", &[("nope", &[])]),
        ("", &[("link-state", &[]), ("nope", &[])]),
        ("", &[("no-module:link-state", &[])]),
        ("", &[("link-state", &[("id", "1")])]),
        (
            "",
            &[
                ("link-state", &[]),
                ("groups", &[]),
                ("group", &[("name", "1")]),
            ],
        ),
        ("", &[("", &[])]),
    ];
    for (origin, elems) in cases {
        assert!(
            resolve(schema(), None, Some(&p(origin, elems))).is_err(),
            "{elems:?}"
        );
    }
}

#[test]
fn wildcards() {
    let r = resolve(
        schema(),
        None,
        Some(&p(
            "",
            &[
                ("link-state", &[]),
                ("groups", &[]),
                ("group", &[("id", "*")]),
                ("*", &[]),
                ("enabled", &[]),
            ],
        )),
    )
    .unwrap();
    assert!(r.has_wildcards());
    assert!(r.data_path().is_err());
    assert_eq!(
        r.xpath(),
        "/tether-link-state:link-state/tether-link-state:groups/tether-link-state:group/*/tether-link-state:enabled"
    );
    assert_eq!(r.concrete_prefix(), "/tether-link-state:link-state/groups");
    assert!(r.covers(GROUP));
    assert!(!r.covers("/tether-link-state:link-state/groups/group[id='1']/config/description"));

    let deep = resolve(
        schema(),
        None,
        Some(&p(
            "",
            &[("link-state", &[]), ("...", &[]), ("enabled", &[])],
        )),
    )
    .unwrap();
    assert_eq!(
        deep.xpath(),
        "/tether-link-state:link-state//tether-link-state:enabled"
    );
    assert!(deep.covers(GROUP));
    assert!(deep.overlaps("/tether-link-state:link-state/groups/group[id='1']"));
    assert!(!deep.covers("/tether-conntrack-bypass:bypass/classes"));

    let all = resolve(schema(), None, Some(&p("", &[("...", &[])]))).unwrap();
    assert!(all.is_root());
}

#[test]
fn a_list_without_keys_names_every_entry() {
    let oper = resolve(
        schema(),
        None,
        Some(&p(
            "",
            &[
                ("interfaces", &[]),
                ("interface", &[]),
                ("state", &[]),
                ("oper-status", &[]),
            ],
        )),
    )
    .unwrap();
    assert!(oper.has_wildcards());
    // State is looked up beneath the part before the list, as for `interface[name=*]`.
    assert_eq!(oper.concrete_prefix(), "/tether-interfaces:interfaces");
    assert!(oper.covers("/tether-interfaces:interfaces/interface[name='Po11']/state/oper-status"));
    assert!(!oper.covers("/tether-interfaces:interfaces/interface[name='Po11']/state/carrier"));
    // Set may name a whole list, but not reach through one without saying which entry.
    assert!(oper.data_path().is_err());
    let list = resolve(
        schema(),
        None,
        Some(&p("", &[("interfaces", &[]), ("interface", &[])])),
    )
    .unwrap();
    assert_eq!(
        list.data_path().unwrap(),
        "/tether-interfaces:interfaces/interface"
    );
}

/// A path as gnmic writes it.
fn text(t: &str) -> Path {
    Path::from(tether_syntax::text_path::parse(t).unwrap())
}

#[test]
fn key_values_are_of_the_key_type_below_wildcards_too() {
    let entry = |acl: &str, seq: &str| {
        let t =
            format!("/bypass/access-lists/access-list[name={acl}]/entries/entry[sequence={seq}]");
        resolve(schema(), None, Some(&text(&t)))
    };
    assert!(entry("A", "10").is_ok());
    assert!(entry("*", "10").is_ok());
    for (acl, seq) in [
        ("A", "ten"),
        ("*", "ten"),
        ("*", "-1"),
        ("A", "99999999999"),
    ] {
        let r = entry(acl, seq);
        assert!(
            matches!(&r, Err(PathError::Malformed(m)) if m.contains(seq)),
            "{acl} {seq}: {r:?}"
        );
    }
}

#[test]
fn data_paths_become_gnmi_paths() {
    let g = to_gnmi(
        "/tether-link-state:link-state/groups/group[id='1']/upstream/interfaces/interface[name='Po11']",
    );
    assert_eq!(g.elem[0].name, "tether-link-state:link-state");
    assert_eq!(g.elem[2].key.get("id").map(String::as_str), Some("1"));
    assert_eq!(g.elem[5].key.get("name").map(String::as_str), Some("Po11"));
}
