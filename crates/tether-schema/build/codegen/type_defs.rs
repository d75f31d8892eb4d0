//! The source of the newtypes and enums generated for restricted leaf types.
//!
//! Each type checks its YANG restriction (range, length, patterns, enumeration items) in its
//! constructor and in serde's `try_from`, so a value read from JSON is checked exactly like one
//! built in code. Every pattern is tried with the regex crate here, so a pattern it rejects fails
//! the build instead of the daemon.

use std::fmt::Write;

use super::naming::{camel, doc};

fn ranges_text(r: &[(i128, i128)]) -> String {
    r.iter()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}..{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

fn ranges_lit(r: &[(i128, i128)]) -> String {
    let parts: Vec<String> = r.iter().map(|(a, b)| format!("({a}, {b})")).collect();
    format!("&[{}]", parts.join(", "))
}

pub(super) fn emit_int(
    out: &mut String,
    name: &str,
    yang: &str,
    prim: &str,
    repr: &str,
    ranges: &[(i128, i128)],
) {
    let text = ranges_text(ranges);
    let _ = write!(
        out,
        r#"
/// YANG type `{yang}`: an integer in {text}.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ::serde::Serialize, ::serde::Deserialize)]
#[serde(try_from = "{repr}", into = "{repr}")]
pub struct {name}({prim});

impl {name} {{
    /// The inclusive ranges the YANG type allows.
    pub const RANGES: &'static [(i128, i128)] = {lit};

    /// Checks `value` against the YANG range.
    pub fn new(value: {prim}) -> Result<Self, crate::TypeError> {{
        crate::types::check_range({yang:?}, value as i128, Self::RANGES, {text:?})?;
        Ok(Self(value))
    }}

    /// The plain value.
    pub fn get(self) -> {prim} {{
        self.0
    }}
}}

impl TryFrom<{repr}> for {name} {{
    type Error = crate::TypeError;
    fn try_from(value: {repr}) -> Result<Self, Self::Error> {{
        Self::new(value.into())
    }}
}}

impl From<{name}> for {repr} {{
    fn from(value: {name}) -> Self {{
        value.0.into()
    }}
}}

impl std::fmt::Display for {name} {{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{
        self.0.fmt(f)
    }}
}}
"#,
        lit = ranges_lit(ranges),
    );
}

pub(super) fn emit_str(
    out: &mut String,
    name: &str,
    yang: &str,
    length: &[(i128, i128)],
    patterns: &[(String, bool)],
) {
    for (p, _) in patterns {
        if let Err(e) = regex::Regex::new(&format!("^(?:{p})$")) {
            panic!(
                "pattern of {yang} is not a regular expression the regex crate accepts: {p}: {e}"
            );
        }
    }
    let pats: Vec<String> = patterns
        .iter()
        .map(|(p, inv)| format!("({p:?}, {inv})"))
        .collect();
    let what = if length.is_empty() {
        "a string matching its patterns".to_string()
    } else {
        format!(
            "a string of {} characters matching its patterns",
            ranges_text(length)
        )
    };
    let _ = write!(
        out,
        r#"
/// YANG type `{yang}`: {what}.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, ::serde::Serialize, ::serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct {name}(String);

impl {name} {{
    /// Allowed lengths in characters (inclusive ranges); empty = any.
    pub const LENGTH: &'static [(i128, i128)] = {len};
    /// XSD patterns the value must match (`true` = must NOT match, YANG `invert-match`).
    pub const PATTERNS: &'static [(&'static str, bool)] = &[{pats}];

    /// Checks `value` against the YANG length and patterns.
    pub fn new(value: impl Into<String>) -> Result<Self, crate::TypeError> {{
        static REGEXES: std::sync::LazyLock<Vec<(regex::Regex, bool)>> =
            std::sync::LazyLock::new(|| crate::types::compile_patterns({name}::PATTERNS));
        let value = value.into();
        crate::types::check_string({yang:?}, &value, Self::LENGTH, &REGEXES)?;
        Ok(Self(value))
    }}

    /// The string value.
    pub fn as_str(&self) -> &str {{
        &self.0
    }}
}}

impl TryFrom<String> for {name} {{
    type Error = crate::TypeError;
    fn try_from(value: String) -> Result<Self, Self::Error> {{
        Self::new(value)
    }}
}}

impl From<{name}> for String {{
    fn from(value: {name}) -> Self {{
        value.0
    }}
}}

impl std::fmt::Display for {name} {{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{
        f.write_str(&self.0)
    }}
}}

impl std::str::FromStr for {name} {{
    type Err = crate::TypeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {{
        Self::new(s)
    }}
}}
"#,
        len = ranges_lit(length),
        pats = pats.join(", "),
    );
}

pub(super) fn emit_enum(
    out: &mut String,
    name: &str,
    yang: &str,
    items: &[(String, Option<String>)],
) {
    let _ = write!(
        out,
        "\n/// YANG enumeration `{yang}`.\n#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ::serde::Serialize, ::serde::Deserialize)]\npub enum {name} {{\n"
    );
    let variants: Vec<String> = items.iter().map(|(n, _)| camel(n)).collect();
    for ((item, dsc), v) in items.iter().zip(&variants) {
        doc(out, dsc.as_deref().or(Some(item)));
        let _ = writeln!(out, "#[serde(rename = {item:?})]\n{v},");
    }
    out.push_str("}\n");
    let all: Vec<String> = variants.iter().map(|v| format!("{name}::{v}")).collect();
    let arms: String = items
        .iter()
        .zip(&variants)
        .map(|((item, _), v)| format!("{name}::{v} => {item:?},\n"))
        .collect();
    let from: String = items
        .iter()
        .zip(&variants)
        .map(|((item, _), v)| format!("{item:?} => Ok({name}::{v}),\n"))
        .collect();
    let _ = write!(
        out,
        r#"
impl {name} {{
    /// Every value, in schema order.
    pub const ALL: &'static [{name}] = &[{all}];

    /// The YANG name of the value.
    pub fn as_str(self) -> &'static str {{
        match self {{
            {arms}
        }}
    }}
}}

impl std::fmt::Display for {name} {{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{
        f.write_str(self.as_str())
    }}
}}

impl std::str::FromStr for {name} {{
    type Err = crate::TypeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {{
        match s {{
            {from}
            _ => Err(crate::TypeError::Enum {{ type_name: {yang:?}, value: s.to_string() }}),
        }}
    }}
}}
"#,
        all = all.join(", "),
    );
}

pub(super) fn emit_union(out: &mut String, name: &str, yang: &str, variants: &[(String, String)]) {
    let _ = write!(
        out,
        "\n/// YANG union `{yang}`: the first member type that accepts the value wins, as in RFC 7950 §9.12.\n#[derive(Debug, Clone, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]\n#[serde(untagged)]\npub enum {name} {{\n"
    );
    for (v, t) in variants {
        let _ = writeln!(out, "/// Member type `{t}`.\n{v}({t}),");
    }
    out.push_str("}\n");
    let arms: String = variants
        .iter()
        .map(|(v, _)| format!("{name}::{v}(x) => x.fmt(f),\n"))
        .collect();
    let _ = write!(
        out,
        r#"
impl std::fmt::Display for {name} {{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {{
        match self {{
            {arms}
        }}
    }}
}}
"#
    );
}
