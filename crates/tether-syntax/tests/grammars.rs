//! Property tests of both path grammars: printing a generated path and parsing it back gives
//! the same path, and parsing what was printed prints the same text again. The generated key
//! values hold the characters that make quoting and escaping matter: quotes, `/`, `[`, `]`,
//! `=`, `\` and spaces.

use std::collections::BTreeMap;

use proptest::prelude::*;
use tether_syntax::data_path::{self, Segment};
use tether_syntax::text_path::{self, TextElem, TextPath};

// ===== libyang data paths =====

/// A segment as owned strings: (module, name, keys).
type OwnedSegment = (Option<String>, String, Vec<(String, String)>);

fn identifier() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,6}"
}

/// A key value libyang can quote: any text but not both `'` and `"`.
fn data_value() -> impl Strategy<Value = String> {
    "[a-z0-9 '\"/\\[\\]=:.*\\\\-]{0,8}".prop_map(|v| {
        if v.contains('\'') {
            v.replace('"', "")
        } else {
            v
        }
    })
}

fn data_segment() -> impl Strategy<Value = OwnedSegment> {
    (
        proptest::option::of(identifier()),
        identifier(),
        proptest::collection::vec((identifier(), data_value()), 0..3),
    )
}

fn borrowed(segs: &[OwnedSegment]) -> Vec<Segment<'_>> {
    segs.iter()
        .map(|(m, n, k)| Segment {
            module: m.as_deref(),
            name: n,
            keys: k.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect(),
        })
        .collect()
}

proptest! {
    #[test]
    fn data_path_print_then_parse_is_identity(
        segs in proptest::collection::vec(data_segment(), 0..5)
    ) {
        let segs = borrowed(&segs);
        let text = data_path::print(&segs);
        let parsed = data_path::parse(&text);
        prop_assert_eq!(&parsed, &segs, "{}", text);
        prop_assert_eq!(data_path::print(&parsed), text.clone());
        prop_assert_eq!(data_path::segments(&text).len(), segs.len());
    }

    #[test]
    fn data_path_helpers_agree_with_the_segments(
        segs in proptest::collection::vec(data_segment(), 1..5)
    ) {
        let segs = borrowed(&segs);
        let text = data_path::print(&segs);
        let want_prefixes: Vec<String> =
            (1..=segs.len()).map(|i| data_path::print(&segs[..i])).collect();
        prop_assert_eq!(data_path::prefixes(&text), want_prefixes.clone());
        for p in &want_prefixes {
            prop_assert!(data_path::is_under(&text, p), "{} under {}", text, p);
        }
        let want_schema: String = segs
            .iter()
            .map(|s| match s.module {
                Some(m) => format!("/{m}:{}", s.name),
                None => format!("/{}", s.name),
            })
            .collect();
        prop_assert_eq!(data_path::schema_path(&text), want_schema);
        let last = &segs[segs.len() - 1];
        let want_keys: Vec<(String, String)> = last
            .keys
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        prop_assert_eq!(data_path::last_keys(&text), want_keys);
        prop_assert_eq!(data_path::ends_with_predicate(&text), !last.keys.is_empty());
        prop_assert_eq!(data_path::top_module(&text), segs[0].module);
    }
}

// ===== gnmic text paths =====

fn text_value() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z0-9 '\"/\\[\\]=:.*\\\\-]{0,8}", "\\PC{0,4}",]
}

fn text_elem() -> impl Strategy<Value = TextElem> {
    (
        prop_oneof![
            4 => identifier(),
            2 => (identifier(), identifier()).prop_map(|(m, n)| format!("{m}:{n}")),
            1 => Just("*".to_string()),
            1 => Just("...".to_string()),
        ],
        proptest::collection::btree_map(identifier(), text_value(), 0..3),
    )
        .prop_map(|(name, keys): (String, BTreeMap<String, String>)| TextElem { name, keys })
}

fn text_path() -> impl Strategy<Value = TextPath> {
    (
        prop_oneof![Just(String::new()), identifier()],
        proptest::collection::vec(text_elem(), 0..5),
    )
        .prop_map(|(origin, elems)| TextPath { origin, elems })
}

proptest! {
    #[test]
    fn text_path_print_then_parse_is_identity(path in text_path()) {
        let text = text_path::format(&path);
        let parsed = text_path::parse(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&parsed, &path, "{}", text);
        prop_assert_eq!(text_path::format(&parsed), text);
    }
}
