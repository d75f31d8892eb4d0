//! gNMI paths as an engineer types them (`/tether-link-state:link-state/groups/group[id=1]`)
//! and back.
//!
//! Accepted forms, as gnmic and pygnmi write them: `/a/b[k=v]/c`, with or without the leading
//! `/`, module-qualified first element (`/tether-link-state:link-state`) or a bare one
//! (`/link-state`), an `origin:` before the path (`tether-link-state:/link-state`), several keys
//! (`[a=1][b=2]`), `/` inside key values (`interface[name=Gi1/1]`) and `\]`, `\\` escapes in key
//! values. Wildcards `*` and `...` are passed through as element names.
//!
//! The values here mirror gNMI's `Path`/`PathElem` without the protobuf types; `tether-proto`
//! users convert with a few lines.

use std::collections::BTreeMap;

use thiserror::Error;

/// Why a path string is not a usable gNMI path.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("path {path:?}: {why}")]
pub struct PathError {
    pub path: String,
    pub why: String,
}

/// A gNMI path: origin (empty: none) and elements.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextPath {
    pub origin: String,
    pub elems: Vec<TextElem>,
}

/// One element: its name as written (`tether-link-state:link-state`, `*`, `...`) and its keys.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextElem {
    pub name: String,
    pub keys: BTreeMap<String, String>,
}

/// Parses a path string.
pub fn parse(text: &str) -> Result<TextPath, PathError> {
    let err = |why: &str| PathError {
        path: text.to_string(),
        why: why.to_string(),
    };
    let (origin, rest) = split_origin(text);
    let mut elems = Vec::new();
    let mut chars = rest.chars().peekable();
    // Skip one leading '/'.
    if chars.peek() == Some(&'/') {
        chars.next();
    }
    let mut name = String::new();
    let mut keys: BTreeMap<String, String> = BTreeMap::new();
    let finish = |name: &mut String,
                  keys: &mut BTreeMap<String, String>,
                  elems: &mut Vec<TextElem>|
     -> Result<(), PathError> {
        if name.is_empty() {
            if keys.is_empty() {
                return Ok(());
            }
            return Err(err("keys without an element name"));
        }
        elems.push(TextElem {
            name: std::mem::take(name),
            keys: std::mem::take(keys),
        });
        Ok(())
    };
    while let Some(c) = chars.next() {
        match c {
            '/' => {
                if name.is_empty() {
                    return Err(err("empty element (two '/' in a row)"));
                }
                finish(&mut name, &mut keys, &mut elems)?;
            }
            '[' => {
                if name.is_empty() {
                    return Err(err("'[' before an element name"));
                }
                let mut key = String::new();
                loop {
                    match chars.next() {
                        Some('=') => break,
                        Some(']') | None => return Err(err("key without '=value'")),
                        Some(k) => key.push(k),
                    }
                }
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some('\\') => match chars.next() {
                            Some(e) => value.push(e),
                            None => return Err(err("'\\' at the end")),
                        },
                        Some(']') => break,
                        Some(v) => value.push(v),
                        None => return Err(err("unclosed '['")),
                    }
                }
                let key = key.trim().to_string();
                if key.is_empty() {
                    return Err(err("empty key name"));
                }
                keys.insert(key, value);
                // After a key, either another key, a '/', or the end.
                if let Some(&next) = chars.peek()
                    && next != '['
                    && next != '/'
                {
                    return Err(err("text after ']' (expected '[', '/' or the end)"));
                }
            }
            ']' => return Err(err("']' without '['")),
            c if c.is_whitespace() && name.is_empty() => {}
            c => {
                if !keys.is_empty() {
                    return Err(err("text after ']'"));
                }
                name.push(c);
            }
        }
    }
    finish(&mut name, &mut keys, &mut elems)?;
    Ok(TextPath {
        origin: origin.to_string(),
        elems,
    })
}

/// `origin:/path` → (`origin`, `/path`). A module-qualified first element
/// (`/tether-link-state:link-state`) is not an origin: the origin form has `:` right before the
/// first `/`.
fn split_origin(text: &str) -> (&str, &str) {
    if text.starts_with('/') {
        return ("", text);
    }
    match text.find(":/") {
        Some(i) if !text[..i].contains(['/', '[']) => (&text[..i], &text[i + 1..]),
        _ => ("", text),
    }
}

/// A path as text, keys sorted by name, `]` and `\` in key values escaped; `/` for the root.
pub fn format(path: &TextPath) -> String {
    let mut out = String::new();
    if !path.origin.is_empty() {
        out.push_str(&path.origin);
        out.push(':');
    }
    for e in &path.elems {
        out.push('/');
        out.push_str(&e.name);
        for (k, v) in &e.keys {
            out.push('[');
            out.push_str(k);
            out.push('=');
            for c in v.chars() {
                if c == ']' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push(']');
        }
    }
    if out.is_empty() || out.ends_with(':') {
        out.push('/');
    }
    out
}

impl std::fmt::Display for TextPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format(self))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn elem(name: &str, keys: &[(&str, &str)]) -> TextElem {
        TextElem {
            name: name.into(),
            keys: keys
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn parses_the_forms_clients_write() {
        let cases: Vec<(&str, &str, Vec<TextElem>)> = vec![
            ("/", "", vec![]),
            ("", "", vec![]),
            (
                "/tether-link-state:link-state",
                "",
                vec![elem("tether-link-state:link-state", &[])],
            ),
            ("link-state", "", vec![elem("link-state", &[])]),
            (
                "tether-link-state:/link-state/groups",
                "tether-link-state",
                vec![elem("link-state", &[]), elem("groups", &[])],
            ),
            (
                "/link-state/groups/group[id=1]/config",
                "",
                vec![
                    elem("link-state", &[]),
                    elem("groups", &[]),
                    elem("group", &[("id", "1")]),
                    elem("config", &[]),
                ],
            ),
            (
                "/interfaces/interface[name=Gi1/1]/state",
                "",
                vec![
                    elem("interfaces", &[]),
                    elem("interface", &[("name", "Gi1/1")]),
                    elem("state", &[]),
                ],
            ),
            (
                "/a/b[x=1][y=a\\]b]/c/",
                "",
                vec![
                    elem("a", &[]),
                    elem("b", &[("x", "1"), ("y", "a]b")]),
                    elem("c", &[]),
                ],
            ),
            (
                "/link-state/*/group[id=*]/...",
                "",
                vec![
                    elem("link-state", &[]),
                    elem("*", &[]),
                    elem("group", &[("id", "*")]),
                    elem("...", &[]),
                ],
            ),
        ];
        for (text, origin, elems) in cases {
            let p = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(p.origin, origin, "{text}");
            assert_eq!(p.elems, elems, "{text}");
        }
    }

    #[test]
    fn refuses_malformed_paths() {
        for text in [
            "/a//b", "/a[k]", "/a[k=1", "/a]", "/[k=1]", "/a[=1]", "/a[k=1]x", "/a[k=v\\",
        ] {
            assert!(parse(text).is_err(), "{text} should be refused");
        }
    }

    #[test]
    fn formats_back_what_it_parses() {
        for text in [
            "/",
            "/tether-link-state:link-state/groups/group[id=1]/config",
            "/interfaces/interface[name=Gi1/1]",
            "/a/b[x=1][y=a\\]b]",
            "tether-link-state:/link-state",
        ] {
            assert_eq!(format(&parse(text).unwrap()), text);
        }
    }
}
