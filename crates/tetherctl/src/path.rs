//! gNMI paths as an engineer types them (`/tether-link-state:link-state/groups/group[id=1]`)
//! and back: the grammar is `tether_syntax::text_path` (the forms gnmic and pygnmi write);
//! this module converts to and from the protobuf `Path`.

use tether_proto::gnmi::Path;
use tether_syntax::text_path::{self, TextPath};

pub use tether_syntax::text_path::PathError;

/// Parses a path string into a gNMI `Path`.
pub fn parse(text: &str) -> Result<Path, PathError> {
    text_path::parse(text).map(Path::from)
}

/// A gNMI path as text, keys sorted by name, `]` and `\` in key values escaped. Paths from
/// gNMI < 0.4 servers (the deprecated `element` strings) print as elements without keys.
pub fn format(path: &Path) -> String {
    text_path::format(&TextPath::from(path))
}

/// A notification's prefix joined with one of its update paths.
pub fn join(prefix: Option<&Path>, path: Option<&Path>) -> Path {
    let mut out = prefix.cloned().unwrap_or_default();
    out.target.clear();
    if let Some(p) = path {
        if out.origin.is_empty() {
            out.origin = p.origin.clone();
        }
        out.elem.extend(p.elem.iter().cloned());
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn converts_both_ways() {
        let p = parse("tether-link-state:/link-state/groups/group[id=1]").unwrap();
        assert_eq!(p.origin, "tether-link-state");
        assert_eq!(p.elem.len(), 3);
        assert_eq!(p.elem[2].key.get("id").map(String::as_str), Some("1"));
        assert_eq!(
            format(&p),
            "tether-link-state:/link-state/groups/group[id=1]"
        );
        assert!(parse("/a//b").is_err());
    }

    #[test]
    #[allow(deprecated)]
    fn formats_deprecated_elements() {
        let p = Path {
            element: vec!["link-state".into(), "groups".into()],
            ..Default::default()
        };
        assert_eq!(format(&p), "/link-state/groups");
        assert_eq!(format(&Path::default()), "/");
    }

    #[test]
    fn joins_prefix_and_path() {
        let prefix = Path {
            target: "dev1".into(),
            ..parse("/link-state/groups").unwrap()
        };
        let joined = join(Some(&prefix), Some(&parse("group[id=1]/state").unwrap()));
        assert_eq!(format(&joined), "/link-state/groups/group[id=1]/state");
        assert_eq!(format(&join(None, None)), "/");
    }
}
