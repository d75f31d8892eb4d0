//! Turns the compiled schema into Rust source.
//!
//! Layout: one Rust module per YANG module, and inside it one Rust module per container or
//! list, named after the node, holding the node's struct, its path constants and the
//! newtypes/enums of its leaves. `tether_link_state::link_state::groups::group::config::Config`
//! is the `config` container of a link-state group: the Rust path spells the YANG path, so
//! the many `config`/`state` containers never clash.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::PathBuf;

use yang3::schema::{SchemaModule, SchemaNode, SchemaNodeKind, SchemaPathFormat};

use crate::leaf_type::{Kind, TypeInfo, inspect};

const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

pub fn snake(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    match s.as_str() {
        "self" | "super" | "crate" => format!("{s}_"),
        _ if KEYWORDS.contains(&s.as_str()) => format!("r#{s}"),
        _ => s,
    }
}

pub fn camel(name: &str) -> String {
    let mut out = String::new();
    for part in name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
    {
        let mut cs = part.chars();
        if let Some(f) = cs.next() {
            out.push(f.to_ascii_uppercase());
            out.extend(cs);
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    if out == "Self" {
        out.push('_');
    }
    out
}

fn screaming(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{s}")
    } else {
        s
    }
}

fn doc(out: &mut String, text: Option<&str>) {
    let Some(text) = text else { return };
    for line in text.trim().lines() {
        let line = line.trim();
        if line.is_empty() {
            out.push_str("///\n");
        } else {
            // Brackets in YANG prose are not intra-doc links.
            let line = line.replace('[', "\\[").replace(']', "\\]");
            let _ = writeln!(out, "/// {line}");
        }
    }
}

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

/// Newtypes and enums generated for the leaves of one container or list.
struct Scope {
    defs: String,
    names: BTreeSet<String>,
}

impl Scope {
    fn new(reserved: &str) -> Self {
        Scope {
            defs: String::new(),
            names: BTreeSet::from([reserved.to_string()]),
        }
    }

    /// Returns the name to use for a new type, or None when a type of that name was already
    /// generated here (same typedef used by two leaves of one node).
    fn claim(&mut self, wanted: &str, typedef: bool) -> (String, bool) {
        if typedef && self.names.contains(wanted) && !self.is_reserved(wanted) {
            return (wanted.to_string(), false);
        }
        let mut name = wanted.to_string();
        while self.names.contains(&name) {
            name.push_str("Value");
        }
        self.names.insert(name.clone());
        (name, true)
    }

    fn is_reserved(&self, name: &str) -> bool {
        self.names.iter().next().is_some_and(|r| r == name)
    }
}

/// The Rust type of a leaf, generating newtypes/enums into `scope` as needed.
fn rust_type(info: &TypeInfo, scope: &mut Scope, leaf: &str, yang_name: &str) -> String {
    let wanted = camel(info.typedef.as_deref().unwrap_or(leaf));
    let display_name = info
        .typedef
        .clone()
        .unwrap_or_else(|| yang_name.to_string());
    match &info.kind {
        Kind::Bool => "bool".into(),
        Kind::Empty => "crate::json::Empty".into(),
        Kind::Opaque => "String".into(),
        Kind::Int {
            bits,
            signed,
            ranges,
        } => {
            let prim = format!("{}{}", if *signed { "i" } else { "u" }, bits);
            let repr = match (bits, signed) {
                (64, false) => "crate::json::U64".to_string(),
                (64, true) => "crate::json::I64".to_string(),
                _ => prim.clone(),
            };
            let full = if *signed {
                let m = 1i128 << (bits - 1);
                (-m, m - 1)
            } else {
                (0, (1i128 << bits) - 1)
            };
            if ranges.is_empty() || (ranges.len() == 1 && ranges[0] == full) {
                return repr;
            }
            let (name, fresh) = scope.claim(&wanted, info.typedef.is_some());
            if fresh {
                emit_int(&mut scope.defs, &name, &display_name, &prim, &repr, ranges);
            }
            name
        }
        Kind::Str { length, patterns } => {
            if length.is_empty() && patterns.is_empty() {
                return "String".into();
            }
            let (name, fresh) = scope.claim(&wanted, info.typedef.is_some());
            if fresh {
                emit_str(&mut scope.defs, &name, &display_name, length, patterns);
            }
            name
        }
        Kind::Enum { items } => {
            let (name, fresh) = scope.claim(&wanted, info.typedef.is_some());
            if fresh {
                emit_enum(&mut scope.defs, &name, &display_name, items);
            }
            name
        }
        Kind::Union { members } => {
            let (name, fresh) = scope.claim(&wanted, info.typedef.is_some());
            if fresh {
                let mut variants = Vec::new();
                let mut used = BTreeSet::new();
                for m in members {
                    let base = match (&m.typedef, &m.kind) {
                        (Some(t), _) => camel(t),
                        (None, Kind::Enum { .. }) => "Enumeration".into(),
                        (None, Kind::Int { bits, signed, .. }) => {
                            format!("{}{}", if *signed { "Int" } else { "Uint" }, bits)
                        }
                        (None, Kind::Str { .. }) => "String".into(),
                        (None, Kind::Bool) => "Boolean".into(),
                        _ => "Other".into(),
                    };
                    let mut v = base.clone();
                    let mut i = 2;
                    while !used.insert(v.clone()) {
                        v = format!("{base}{i}");
                        i += 1;
                    }
                    let member_leaf = format!("{name}{v}");
                    let ty = rust_type(m, scope, &member_leaf, &display_name);
                    variants.push((v, ty));
                }
                emit_union(&mut scope.defs, &name, &display_name, &variants);
            }
            name
        }
    }
}

fn emit_int(
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

fn emit_str(
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

fn emit_enum(out: &mut String, name: &str, yang: &str, items: &[(String, Option<String>)]) {
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

fn emit_union(out: &mut String, name: &str, yang: &str, variants: &[(String, String)]) {
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

/// Children of a node as the data tree sees them: choice and case are transparent.
fn data_children<'a>(children: impl Iterator<Item = SchemaNode<'a>>) -> Vec<SchemaNode<'a>> {
    let mut out = Vec::new();
    for c in children {
        match c.kind() {
            SchemaNodeKind::Choice | SchemaNodeKind::Case => {
                out.extend(data_children(c.children()))
            }
            SchemaNodeKind::Container
            | SchemaNodeKind::List
            | SchemaNodeKind::Leaf
            | SchemaNodeKind::LeafList => out.push(c),
            _ => {}
        }
    }
    out
}

/// Emits the Rust module of one container or list.
fn emit_node(out: &mut String, node: &SchemaNode<'_>) {
    let name = node.name().to_string();
    let module = snake(&name);
    let strukt = camel(&name);
    let is_list = node.kind() == SchemaNodeKind::List;
    let path = node.path(SchemaPathFormat::DATA);
    let mut scope = Scope::new(&strukt);
    let mut fields = String::new();
    let mut consts = String::new();
    let mut subs = String::new();

    for c in data_children(node.children()) {
        let cname = c.name().to_string();
        let field = snake(&cname);
        let cpath = c.path(SchemaPathFormat::DATA);
        let mut fdoc = String::new();
        doc(&mut fdoc, c.description());
        match c.kind() {
            SchemaNodeKind::Container => {
                let _ = write!(
                    fields,
                    "{fdoc}#[serde(rename = {cname:?}, default, skip_serializing_if = \"Option::is_none\")]\npub {field}: Option<{m}::{s}>,\n",
                    m = snake(&cname),
                    s = camel(&cname)
                );
                emit_node(&mut subs, &c);
            }
            SchemaNodeKind::List => {
                let _ = write!(
                    fields,
                    "{fdoc}#[serde(rename = {cname:?}, default, skip_serializing_if = \"Vec::is_empty\")]\npub {field}: Vec<{m}::{s}>,\n",
                    m = snake(&cname),
                    s = camel(&cname)
                );
                emit_node(&mut subs, &c);
            }
            SchemaNodeKind::Leaf | SchemaNodeKind::LeafList => {
                let info = match c.leaf_type() {
                    Some(t) => inspect(&t),
                    None => continue,
                };
                let ty = rust_type(&info, &mut scope, &cname, &cname);
                let _ = writeln!(
                    consts,
                    "    /// Schema path of the `{cname}` leaf.\n    pub const {}: &'static str = {cpath:?};",
                    screaming(&cname)
                );
                if c.kind() == SchemaNodeKind::LeafList {
                    let _ = write!(
                        fields,
                        "{fdoc}#[serde(rename = {cname:?}, default, skip_serializing_if = \"Vec::is_empty\")]\npub {field}: Vec<{ty}>,\n"
                    );
                } else if c.is_list_key() {
                    let _ = write!(
                        fields,
                        "{fdoc}#[serde(rename = {cname:?})]\npub {field}: {ty},\n"
                    );
                } else {
                    let units = c
                        .units()
                        .map(|u| format!("/// Units: {u}.\n"))
                        .unwrap_or_default();
                    // yang3's default_value_canonical() dereferences null without a default.
                    let dflt = c
                        .has_default()
                        .then(|| c.default_value_canonical())
                        .flatten()
                        .map(|d| format!("/// Default when absent: `{d}`.\n"))
                        .unwrap_or_default();
                    let _ = write!(
                        fields,
                        "{fdoc}{units}{dflt}#[serde(rename = {cname:?}, default, skip_serializing_if = \"Option::is_none\")]\npub {field}: Option<{ty}>,\n"
                    );
                }
            }
            _ => {}
        }
    }

    let mut d = String::new();
    doc(&mut d, node.description());
    let derive = if is_list {
        "#[derive(Debug, Clone, PartialEq, ::serde::Serialize, ::serde::Deserialize)]"
    } else {
        "#[derive(Debug, Clone, Default, PartialEq, ::serde::Serialize, ::serde::Deserialize)]"
    };
    let kind = if is_list { "list" } else { "container" };
    let _ = write!(
        out,
        r#"
{d}pub mod {module} {{
    #![allow(clippy::doc_lazy_continuation, clippy::large_enum_variant)]

    /// Schema path of this {kind}.
    pub const PATH: &str = {path:?};

{d}{derive}
pub struct {strukt} {{
{fields}}}

impl {strukt} {{
{consts}}}
{defs}
{subs}
}}
"#,
        defs = scope.defs,
    );
}

/// Generates the whole `model.rs`.
pub fn generate(modules: &[(SchemaModule<'_>, PathBuf)]) -> String {
    let mut out =
        String::from("// @generated by crates/tether-model/build from yang/*.yang. Do not edit.\n");
    let mut sources = String::new();
    let mut flat = String::new();

    for (m, file) in modules {
        let name = m.name().to_string();
        let rmod = snake(&name);
        let revision = m.revision().unwrap_or_default().to_string();
        let mut d = String::new();
        doc(&mut d, m.description());
        let tops = data_children(m.data());
        let mut top_fields = String::new();
        let mut subs = String::new();
        for t in &tops {
            let tname = t.name().to_string();
            let qualified = format!("{name}:{tname}");
            let (ty, container) = match t.kind() {
                SchemaNodeKind::Container => (
                    format!("Option<{}::{}>", snake(&tname), camel(&tname)),
                    true,
                ),
                SchemaNodeKind::List => {
                    (format!("Vec<{}::{}>", snake(&tname), camel(&tname)), false)
                }
                _ => continue,
            };
            let skip = if container {
                "Option::is_none"
            } else {
                "Vec::is_empty"
            };
            let mut fd = String::new();
            doc(&mut fd, t.description());
            let _ = write!(
                top_fields,
                "{fd}#[serde(rename = {qualified:?}, default, skip_serializing_if = {skip:?})]\npub {}: {ty},\n",
                snake(&tname)
            );
            emit_node(&mut subs, t);
        }
        let _ = write!(
            out,
            r#"
/// YANG module `{name}` revision {revision}.
///
{d}pub mod {rmod} {{
    /// Module name, as used in RFC 7951 member names and gNMI `origin`.
    pub const NAME: &str = {name:?};
    /// XML namespace.
    pub const NAMESPACE: &str = {ns:?};
    /// Prefix used inside the module.
    pub const PREFIX: &str = {prefix:?};
    /// Latest revision.
    pub const REVISION: &str = {revision:?};

    /// The module's top-level data nodes, as they appear in an RFC 7951 document.
    #[derive(Debug, Clone, Default, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
    pub struct Data {{
{top_fields}    }}
{subs}
}}
"#,
            ns = m.namespace(),
            prefix = m.prefix(),
        );
        let _ = writeln!(
            sources,
            "    crate::schema::ModuleSource {{ name: {name:?}, revision: {revision:?}, namespace: {ns:?}, prefix: {prefix:?}, organization: {org:?}, text: include_str!({file:?}) }},",
            ns = m.namespace(),
            prefix = m.prefix(),
            org = m.organization().unwrap_or_default(),
            file = file.display().to_string(),
        );
        let _ = write!(
            flat,
            "    /// Data of module `{name}`.\n    #[serde(flatten)]\n    pub {rmod}: {rmod}::Data,\n"
        );
    }

    let _ = write!(
        out,
        r#"
/// The YANG modules Tether is built from, with their text embedded so the daemon needs no
/// files at run time.
pub const MODULES: &[crate::schema::ModuleSource] = &[
{sources}];

/// A whole datastore as one RFC 7951 JSON document: every module's top-level nodes.
#[derive(Debug, Clone, Default, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
pub struct Datastore {{
{flat}}}
"#
    );
    out
}
