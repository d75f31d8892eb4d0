//! `tetherctl import`: Cisco ASA and IOS configuration text → one gNMI Set.
//!
//! Translated (everything else is reported, line by line, with the reason):
//!
//! | Cisco | Tether |
//! |---|---|
//! | `access-list NAME [extended] permit\|deny ...` (ASA, netmasks) | `/bypass/access-lists/access-list[name]/entries/entry[sequence]` |
//! | `access-list 100-199 permit\|deny ...` (IOS numbered, wildcard masks) | the same |
//! | `ip access-list extended NAME` + `[SEQ] permit\|deny ...` (IOS) | the same |
//! | `access-list NAME remark TEXT` | `remark` of the next entry of NAME |
//! | `class-map NAME` + `match access-list ACL` | `/bypass/classes/class[name]` |
//! | `policy-map NAME` + `class C` + `set connection timeout idle H:MM:SS` / `embryonic` | `.../policies/policy[name]/classes/class[name]/config/idle-timeout` |
//! | `set connection advanced-options tcp-state-bypass` | `.../tcp-state-bypass true` |
//! | `service-policy P interface IF` / `service-policy P global` | `/bypass/service-policies/...`, `/bypass/global-policy` |
//! | `link state track N` | `/link-state/groups/group[id=N]/config/enabled true` |
//! | `interface X` / `interface range ...` + `link state group N upstream\|downstream` | `.../group[id=N]/{up,down}stream/interfaces/interface[name]` |
//!
//! Entries get sequence numbers 10, 20, … in the order they appear (IOS `ip access-list`
//! entries keep theirs). Interface names are expanded from Cisco abbreviations to the IOS short
//! form (`g1/1` → `Gi1/1`, `int po11` → `Po11`). Lines pasted with their prompt
//! (`HQ4948A(config-if)#link state group 1 upstream`) are accepted.
//!
//! The result is the content of the two module containers, sent as two updates (merge) or,
//! with `--replace`, two replaces in one Set, so it is applied all or nothing.

//!
//! # Code map
//!
//! The text goes through three stages, each a pure function of the one before:
//! [`lex`] (lines → commands, prompts and comments stripped, global or sub-command),
//! [`parse`] (commands → [`ir::Config`], the plain data of what was configured, and the
//! [`Problem`]s), [`rename`] (Cisco interface names → the box's, `--map`/`--interface-map`),
//! [`emit`] (`Config` → the JSON of the Set) and [`summary`] (`Config` → lines for people).
//! [`acl`] parses one access-list entry, [`interface`] one interface name or range.

pub mod acl;
pub mod emit;
pub mod interface;
pub mod ir;
pub mod lex;
pub mod parse;
pub mod rename;
pub mod summary;

use std::fmt;

use serde_json::Value;

/// A line that was not translated, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line number.
    pub line: usize,
    /// The line, trimmed.
    pub text: String,
    pub why: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}: {}", self.line, self.text, self.why)
    }
}

/// The result of translating a configuration: what to set, and what could not be translated.
#[derive(Debug, Clone, Default)]
pub struct Translation {
    /// What the translated lines configure.
    pub config: ir::Config,
    /// Lines not translated, in line order.
    pub problems: Vec<Problem>,
}

/// Translates configuration text. Never fails: what cannot be translated is in `problems`.
pub fn translate(text: &str) -> Translation {
    let (config, problems) = parse::parse(lex::lex(text));
    Translation { config, problems }
}

impl Translation {
    /// True when nothing was translated.
    pub fn is_empty(&self) -> bool {
        matches!(self.updates(), Ok(u) if u.is_empty())
    }

    /// The Set content: (schema path of a module's top container, its JSON value), one per
    /// module that the text configures; an error names a translated value the schema refuses.
    pub fn updates(&self) -> Result<Vec<(String, Value)>, emit::EmitError> {
        emit::updates(&self.config)
    }

    /// What the Set will configure, for people: one line per object.
    pub fn summary(&self) -> Vec<String> {
        summary::summary(&self.config)
    }
}

#[cfg(test)]
mod tests;
