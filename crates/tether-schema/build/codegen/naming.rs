//! How YANG names and descriptions are spelled in the generated Rust.
//!
//! YANG identifiers allow `-`, `.` and leading digits and may collide with Rust keywords; every
//! generated item goes through these few functions so that one YANG name always maps to the same
//! Rust name, whichever part of the generator emits it.

use std::fmt::Write;

const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

pub(super) fn snake(name: &str) -> String {
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

pub(super) fn camel(name: &str) -> String {
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

pub(super) fn screaming(name: &str) -> String {
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

pub(super) fn doc(out: &mut String, text: Option<&str>) {
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
