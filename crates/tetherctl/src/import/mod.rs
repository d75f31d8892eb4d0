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

pub mod acl;
pub mod interface;

use std::fmt;

use serde_json::{Map, Value, json};
use tether_model::{tether_conntrack_bypass, tether_link_state};

use crate::timefmt::parse_hms;
use acl::MaskStyle;

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
    access_lists: Vec<AccessList>,
    classes: Vec<ClassMap>,
    policies: Vec<PolicyMap>,
    service_policies: Vec<(String, String)>,
    global_policy: Option<String>,
    groups: Vec<Group>,
    /// Lines not translated, in line order.
    pub problems: Vec<Problem>,
}

#[derive(Debug, Clone)]
struct AccessList {
    name: String,
    entries: Vec<(u32, Value)>,
    /// Declared by `ip access-list` (kept even without entries); an ASA access-list exists
    /// only through its entries.
    declared: bool,
    /// Remarks waiting for the next entry: (line, text, remark).
    pending_remarks: Vec<(usize, String, String)>,
}

#[derive(Debug, Clone)]
struct ClassMap {
    name: String,
    line: usize,
    text: String,
    access_list: Option<String>,
}

#[derive(Debug, Clone)]
struct PolicyMap {
    name: String,
    description: Option<String>,
    /// (class name, config).
    classes: Vec<(String, Map<String, Value>)>,
}

#[derive(Debug, Clone)]
struct Group {
    id: u16,
    tracked: bool,
    upstream: Vec<String>,
    downstream: Vec<String>,
}

/// The configuration mode the previous lines opened.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Block {
    Global,
    ClassMap(String),
    PolicyMap {
        policy: String,
        /// The class being configured; `Err(line)` for an untranslated class (class-default).
        class: Option<Result<String, usize>>,
    },
    Interfaces(Vec<String>),
    IosAccessList(String),
    /// A block whose header was not translated: its lines are reported too.
    Untranslated {
        line: usize,
    },
}

/// Words that start a global configuration command, so that an unindented line ends the block
/// above it even without a prompt.
const GLOBAL_COMMANDS: &[&str] = &[
    "aaa",
    "access-group",
    "access-list",
    "archive",
    "banner",
    "boot",
    "class-map",
    "clock",
    "crypto",
    "dns",
    "domain-name",
    "enable",
    "errdisable",
    "failover",
    "hostname",
    "ip",
    "ipv6",
    "line",
    "logging",
    "monitor-interface",
    "mtu",
    "name",
    "names",
    "nat",
    "ntp",
    "object",
    "object-group",
    "policy-map",
    "route",
    "router",
    "same-security-traffic",
    "service",
    "service-policy",
    "snmp-server",
    "spanning-tree",
    "ssh",
    "telnet",
    "timeout",
    "username",
    "version",
    "vlan",
];

/// Session commands that carry no configuration.
const SESSION_COMMANDS: &[&str] = &["configure", "conf", "write", "wr", "copy", "exit", "end"];

fn is_interface_keyword(word: &str) -> bool {
    word.len() >= 3 && "interface".starts_with(&word.to_ascii_lowercase())
}

fn is_global(tokens: &[&str]) -> bool {
    let Some(first) = tokens.first() else {
        return false;
    };
    let first = first.to_ascii_lowercase();
    if first == "link" {
        return tokens
            .get(2)
            .is_some_and(|t| t.eq_ignore_ascii_case("track"));
    }
    GLOBAL_COMMANDS.contains(&first.as_str())
        || is_interface_keyword(&first)
        || SESSION_COMMANDS.contains(&first.as_str())
}

/// Strips an IOS/ASA prompt (`HQ4948A(config-if)#`, `asa(config)# `). Returns the command and,
/// when there was a prompt, whether it was a sub-mode (`(config-...)`).
fn strip_prompt(line: &str) -> (&str, Option<bool>) {
    let Some(hash) = line.find('#') else {
        return (line, None);
    };
    let head = &line[..hash];
    if head.is_empty() || head.starts_with(char::is_whitespace) || head.contains(' ') {
        return (line, None);
    }
    let (host, mode) = match head.find('(') {
        Some(i) if head.ends_with(')') => (&head[..i], Some(&head[i + 1..head.len() - 1])),
        Some(_) => return (line, None),
        None => (head, None),
    };
    if host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return (line, None);
    }
    let sub = match mode {
        Some(m) if m.starts_with("config-") => Some(true),
        Some("config") => Some(false),
        Some(_) => return (line, None),
        None => Some(false),
    };
    (&line[hash + 1..], sub)
}

/// The remainder of `line` after its first `n` words, trimmed (for free text: remarks,
/// descriptions).
fn rest_after_words(line: &str, n: usize) -> &str {
    let mut rest = line.trim_start();
    for _ in 0..n {
        rest = rest.trim_start();
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = &rest[end..];
    }
    rest.trim()
}

/// Checks a name against the `acl-name`/`class-name`/`policy-name` YANG types.
fn check_name(kind: &str, name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let ok = name.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{kind} name {name:?} is not accepted by Tether (1-64 letters, digits, '_', '.', '-', starting with a letter or digit)"
        ))
    }
}

const MAX_REMARK: usize = 100;
const MAX_DESCRIPTION: usize = 240;

/// Translates configuration text. Never fails: what cannot be translated is in `problems`.
pub fn translate(text: &str) -> Translation {
    let mut t = Translation::default();
    let mut block = Block::Global;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let (body, prompt_sub) = strip_prompt(raw);
        let trimmed = body.trim();
        if trimmed.is_empty() || trimmed.starts_with(['!', ':', '#']) {
            continue;
        }
        let tokens: Vec<&str> = trimmed.split_whitespace().collect();
        let indented = body.starts_with(char::is_whitespace) && prompt_sub.is_none();
        let sub = match prompt_sub {
            Some(s) => s,
            None => indented || !is_global(&tokens),
        };
        let cx = Line {
            line,
            text: trimmed,
            tokens: &tokens,
        };
        if sub && block != Block::Global {
            t.sub_command(&mut block, &cx);
        } else {
            block = t.global_command(&cx);
        }
    }
    t.finish();
    t
}

struct Line<'a> {
    line: usize,
    text: &'a str,
    tokens: &'a [&'a str],
}

impl Translation {
    fn problem(&mut self, cx: &Line<'_>, why: impl Into<String>) {
        self.problems.push(Problem {
            line: cx.line,
            text: cx.text.to_string(),
            why: why.into(),
        });
    }

    // ===== global configuration mode =====

    /// Handles a global command and returns the block it opens.
    fn global_command(&mut self, cx: &Line<'_>) -> Block {
        let words: Vec<String> = cx.tokens.iter().map(|w| w.to_ascii_lowercase()).collect();
        let w = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
        match w(0) {
            "access-list" => {
                self.access_list_line(cx);
                Block::Global
            }
            "ip" | "ipv6" if w(1) == "access-list" => self.ios_access_list_header(cx, &words),
            "class-map" => self.class_map_header(cx, &words),
            "policy-map" => self.policy_map_header(cx, &words),
            "service-policy" => {
                self.service_policy(cx, &words);
                Block::Global
            }
            "link" if w(1) == "state" && w(2) == "track" => {
                match cx.tokens.get(3).map(|n| parse_group_id(n)) {
                    Some(Ok(id)) if cx.tokens.len() == 4 => self.group(id).tracked = true,
                    Some(Err(e)) => self.problem(cx, e),
                    _ => self.problem(cx, "expected 'link state track N'"),
                }
                Block::Global
            }
            first if is_interface_keyword(first) => self.interface_header(cx, &words),
            "end" | "exit" | "configure" | "conf" | "write" | "wr" | "copy" => Block::Global,
            _ => {
                self.problem(
                    cx,
                    "not translated: tetherctl import translates access-list, class-map, policy-map, service-policy, link state and interface link state lines only",
                );
                Block::Global
            }
        }
    }

    fn access_list_line(&mut self, cx: &Line<'_>) {
        let Some(&name) = cx.tokens.get(1) else {
            return self.problem(cx, "access-list without a name");
        };
        if let Err(e) = check_name("access-list", name) {
            return self.problem(cx, e);
        }
        let mut at = 2;
        let word = |i: usize| cx.tokens.get(i).map(|w| w.to_ascii_lowercase());
        let numbered = name.parse::<u32>().ok();
        match word(at).as_deref() {
            Some("remark") => {
                let remark = rest_after_words(cx.text, 3).to_string();
                return self.add_remark(cx, name, remark);
            }
            Some("line") => {
                return self.problem(
                    cx,
                    "'line N' (insert at a position) cannot be translated; list the entries in order instead",
                );
            }
            Some("standard") => {
                return self.problem(
                    cx,
                    "standard access-lists select routes, not traffic; bypass needs an extended access-list",
                );
            }
            Some(kind @ ("webtype" | "ethertype" | "rename" | "dynamic")) => {
                return self.problem(cx, format!("{kind} access-lists cannot be translated"));
            }
            _ => {}
        }
        let extended = word(at).as_deref() == Some("extended");
        if extended {
            at += 1;
        }
        let style = match numbered {
            Some(n) if !extended && (n < 100 || (1300..2000).contains(&n)) => {
                return self.problem(
                    cx,
                    "IOS standard access-lists (1-99, 1300-1999) select routes, not traffic; use an extended access-list",
                );
            }
            Some(_) if !extended => MaskStyle::Wildcard,
            _ => MaskStyle::Netmask,
        };
        let ace = acl::parse(&cx.tokens[at..], style);
        self.add_entry(cx, name, None, ace);
    }

    fn add_remark(&mut self, cx: &Line<'_>, acl: &str, remark: String) {
        if remark.is_empty() {
            return self.problem(cx, "empty remark");
        }
        let list = self.access_list(acl);
        let joined: usize = list
            .pending_remarks
            .iter()
            .map(|(_, _, r)| r.len() + 1)
            .sum::<usize>()
            + remark.len();
        if joined > MAX_REMARK {
            return self.problem(
                cx,
                format!("a remark of an entry is at most {MAX_REMARK} characters (with the remarks before it); this one is dropped"),
            );
        }
        list.pending_remarks
            .push((cx.line, cx.text.to_string(), remark));
    }

    /// Adds an entry at `sequence` (or 10 after the last), with the pending remarks.
    fn add_entry(
        &mut self,
        cx: &Line<'_>,
        acl: &str,
        sequence: Option<u32>,
        ace: Result<acl::Ace, String>,
    ) {
        let list = self.access_list(acl);
        let remarks: Vec<String> = list.pending_remarks.drain(..).map(|(_, _, r)| r).collect();
        let ace = match ace {
            Ok(a) => a,
            Err(e) => {
                let why = if remarks.is_empty() {
                    e
                } else {
                    format!("{e} (its remark is dropped with it)")
                };
                return self.problem(cx, why);
            }
        };
        let last = list.entries.last().map_or(0, |(s, _)| *s);
        let sequence = match sequence {
            Some(s) => s,
            None => match last.checked_add(10) {
                Some(s) => s,
                None => return self.problem(cx, "sequence numbers run out"),
            },
        };
        if list.entries.iter().any(|(s, _)| *s == sequence) {
            return self.problem(cx, format!("sequence number {sequence} is used twice"));
        }
        let remark = (!remarks.is_empty()).then(|| remarks.join(" "));
        list.entries
            .push((sequence, ace.config(sequence, remark.as_deref())));
        list.entries.sort_by_key(|(s, _)| *s);
    }

    fn access_list(&mut self, name: &str) -> &mut AccessList {
        let i = match self.access_lists.iter().position(|a| a.name == name) {
            Some(i) => i,
            None => {
                self.access_lists.push(AccessList {
                    name: name.to_string(),
                    entries: Vec::new(),
                    declared: false,
                    pending_remarks: Vec::new(),
                });
                self.access_lists.len() - 1
            }
        };
        &mut self.access_lists[i]
    }

    fn ios_access_list_header(&mut self, cx: &Line<'_>, words: &[String]) -> Block {
        let name = match (words.get(2).map(String::as_str), cx.tokens.get(3)) {
            (Some("extended"), Some(n)) if words[0] == "ip" && cx.tokens.len() == 4 => *n,
            (Some(_), None) if words[0] == "ipv6" => cx.tokens[2],
            (Some("standard"), _) => {
                self.problem(
                    cx,
                    "standard access-lists select routes, not traffic; bypass needs an extended access-list",
                );
                return Block::Untranslated { line: cx.line };
            }
            _ => {
                self.problem(
                    cx,
                    "expected 'ip access-list extended NAME' or 'ipv6 access-list NAME'",
                );
                return Block::Untranslated { line: cx.line };
            }
        };
        if let Err(e) = check_name("access-list", name) {
            self.problem(cx, e);
            return Block::Untranslated { line: cx.line };
        }
        self.access_list(name).declared = true;
        Block::IosAccessList(name.to_string())
    }

    fn class_map_header(&mut self, cx: &Line<'_>, words: &[String]) -> Block {
        let mut at = 1;
        if words.get(1).map(String::as_str) == Some("type") {
            self.problem(
                cx,
                "only traffic class-maps (class-map NAME) are translated, not typed ones",
            );
            return Block::Untranslated { line: cx.line };
        }
        if matches!(
            words.get(1).map(String::as_str),
            Some("match-all" | "match-any")
        ) {
            at = 2;
        }
        let (Some(&name), None) = (cx.tokens.get(at), cx.tokens.get(at + 1)) else {
            self.problem(cx, "expected 'class-map NAME'");
            return Block::Untranslated { line: cx.line };
        };
        if let Err(e) = check_name("class-map", name) {
            self.problem(cx, e);
            return Block::Untranslated { line: cx.line };
        }
        if name.eq_ignore_ascii_case("class-default") {
            self.problem(cx, "class-default has no Tether equivalent");
            return Block::Untranslated { line: cx.line };
        }
        if !self.classes.iter().any(|c| c.name == name) {
            self.classes.push(ClassMap {
                name: name.to_string(),
                line: cx.line,
                text: cx.text.to_string(),
                access_list: None,
            });
        }
        Block::ClassMap(name.to_string())
    }

    fn policy_map_header(&mut self, cx: &Line<'_>, words: &[String]) -> Block {
        if words.get(1).map(String::as_str) == Some("type") {
            self.problem(
                cx,
                "only Layer 3/4 policy-maps (policy-map NAME) are translated, not inspection or other typed ones",
            );
            return Block::Untranslated { line: cx.line };
        }
        let (Some(&name), None) = (cx.tokens.get(1), cx.tokens.get(2)) else {
            self.problem(cx, "expected 'policy-map NAME'");
            return Block::Untranslated { line: cx.line };
        };
        if let Err(e) = check_name("policy-map", name) {
            self.problem(cx, e);
            return Block::Untranslated { line: cx.line };
        }
        self.policy(name);
        Block::PolicyMap {
            policy: name.to_string(),
            class: None,
        }
    }

    fn policy(&mut self, name: &str) -> &mut PolicyMap {
        let i = match self.policies.iter().position(|p| p.name == name) {
            Some(i) => i,
            None => {
                self.policies.push(PolicyMap {
                    name: name.to_string(),
                    description: None,
                    classes: Vec::new(),
                });
                self.policies.len() - 1
            }
        };
        &mut self.policies[i]
    }

    fn service_policy(&mut self, cx: &Line<'_>, words: &[String]) {
        let policy = cx.tokens.get(1).copied().unwrap_or("");
        if let Err(e) = check_name("policy-map", policy) {
            return self.problem(cx, e);
        }
        match (words.get(2).map(String::as_str), cx.tokens.get(3), cx.tokens.len()) {
            (Some("global"), None, 3) => {
                if let Some(old) = &self.global_policy
                    && old != policy
                {
                    self.problem(
                        cx,
                        format!("replaces the global service-policy {old} set above (one global policy, as on the ASA)"),
                    );
                }
                self.global_policy = Some(policy.to_string());
            }
            (Some("interface"), Some(ifname), 4) => match interface::normalize(ifname) {
                Ok(ifname) => {
                    self.service_policies.retain(|(i, _)| *i != ifname);
                    self.service_policies.push((ifname, policy.to_string()));
                }
                Err(e) => self.problem(cx, e),
            },
            _ => self.problem(
                cx,
                "expected 'service-policy POLICY interface NAME' or 'service-policy POLICY global' (IOS QoS 'service-policy input|output' is not translated)",
            ),
        }
    }

    fn interface_header(&mut self, cx: &Line<'_>, words: &[String]) -> Block {
        let result = if words.get(1).map(String::as_str) == Some("range") {
            interface::expand_range(&rest_after_words(cx.text, 2).replace('\t', " "))
        } else if cx.tokens.len() < 2 {
            Err("interface without a name".to_string())
        } else {
            interface::normalize(rest_after_words(cx.text, 1)).map(|n| vec![n])
        };
        match result {
            Ok(names) => Block::Interfaces(names),
            Err(e) => {
                self.problem(cx, e);
                Block::Untranslated { line: cx.line }
            }
        }
    }

    // ===== sub-modes =====

    fn sub_command(&mut self, block: &mut Block, cx: &Line<'_>) {
        let words: Vec<String> = cx.tokens.iter().map(|w| w.to_ascii_lowercase()).collect();
        let w = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
        if w(0) == "exit" {
            *block = match block {
                Block::PolicyMap {
                    policy,
                    class: Some(_),
                } => Block::PolicyMap {
                    policy: policy.clone(),
                    class: None,
                },
                _ => Block::Global,
            };
            return;
        }
        if w(0) == "end" {
            *block = Block::Global;
            return;
        }
        match block {
            Block::Global => unreachable_global(self, cx),
            Block::Untranslated { line } => {
                let line = *line;
                self.problem(
                    cx,
                    format!("part of the block at line {line}, which is not translated"),
                );
            }
            Block::ClassMap(name) => {
                let name = name.clone();
                if w(0) == "match" && w(1) == "access-list" && cx.tokens.len() == 3 {
                    let acl = cx.tokens[2];
                    if let Err(e) = check_name("access-list", acl) {
                        return self.problem(cx, e);
                    }
                    let Some(class) = self.classes.iter_mut().find(|c| c.name == name) else {
                        return;
                    };
                    match class.access_list.clone() {
                        Some(old) if old != acl => self.problem(
                            cx,
                            format!("a Tether class matches one access-list; class-map {name} already matches {old}"),
                        ),
                        _ => class.access_list = Some(acl.to_string()),
                    }
                } else if w(0) == "match" {
                    self.problem(
                        cx,
                        "only 'match access-list ACL' is translated: Tether classes select traffic by access-list",
                    );
                } else {
                    self.problem(cx, "not translated in a class-map");
                }
            }
            Block::PolicyMap { policy, class } => {
                let policy = policy.clone();
                if w(0) == "class" {
                    let Some(&cname) = cx.tokens.get(1).filter(|_| cx.tokens.len() == 2) else {
                        return self.problem(cx, "expected 'class NAME'");
                    };
                    if cname.eq_ignore_ascii_case("class-default") {
                        *class = Some(Err(cx.line));
                        return self.problem(
                            cx,
                            "class-default has no Tether equivalent; put the actions under a class-map that matches an access-list",
                        );
                    }
                    if let Err(e) = check_name("class-map", cname) {
                        *class = Some(Err(cx.line));
                        return self.problem(cx, e);
                    }
                    *class = Some(Ok(cname.to_string()));
                    let p = self.policy(&policy);
                    if !p.classes.iter().any(|(n, _)| n == cname) {
                        let mut m = Map::new();
                        m.insert("name".into(), json!(cname));
                        p.classes.push((cname.to_string(), m));
                    }
                } else if w(0) == "description" {
                    let d = rest_after_words(cx.text, 1);
                    if d.len() > MAX_DESCRIPTION {
                        return self.problem(
                            cx,
                            format!("descriptions are at most {MAX_DESCRIPTION} characters"),
                        );
                    }
                    self.policy(&policy).description = Some(d.to_string());
                } else if w(0) == "set" && w(1) == "connection" {
                    match class.clone() {
                        Some(Ok(cname)) => self.set_connection(cx, &policy, &cname, &words),
                        Some(Err(l)) => self.problem(
                            cx,
                            format!("under the class at line {l}, which is not translated"),
                        ),
                        None => self.problem(cx, "'set connection' outside a class"),
                    }
                } else {
                    self.problem(
                        cx,
                        "not translated in a policy-map: only 'class', 'set connection timeout idle|embryonic', 'set connection advanced-options tcp-state-bypass' and 'description'",
                    );
                }
            }
            Block::Interfaces(names) => {
                let names = names.clone();
                if w(0) == "link" && w(1) == "state" && w(2) == "group" {
                    let id = match cx.tokens.get(3).map(|n| parse_group_id(n)) {
                        Some(Ok(id)) => id,
                        Some(Err(e)) => return self.problem(cx, e),
                        None => {
                            return self
                                .problem(cx, "expected 'link state group N upstream|downstream'");
                        }
                    };
                    let upstream = match (w(4), cx.tokens.len()) {
                        ("upstream", 5) => true,
                        ("downstream", 5) => false,
                        _ => {
                            return self
                                .problem(cx, "expected 'link state group N upstream|downstream'");
                        }
                    };
                    self.add_members(cx, id, upstream, &names);
                } else {
                    self.problem(
                        cx,
                        "not translated under an interface: only 'link state group N upstream|downstream'",
                    );
                }
            }
            Block::IosAccessList(name) => {
                let name = name.clone();
                let mut at = 0;
                if w(0) == "remark" {
                    let remark = rest_after_words(cx.text, 1).to_string();
                    return self.add_remark(cx, &name, remark);
                }
                if w(0) == "sequence" {
                    at = 1;
                }
                let sequence = match cx.tokens.get(at).map(|s| s.parse::<u32>()) {
                    Some(Ok(0)) => return self.problem(cx, "sequence numbers start at 1"),
                    Some(Ok(s)) => {
                        at += 1;
                        Some(s)
                    }
                    _ if at == 1 => return self.problem(cx, "expected 'sequence N'"),
                    _ => None,
                };
                if cx
                    .tokens
                    .get(at)
                    .is_some_and(|t| t.eq_ignore_ascii_case("remark"))
                {
                    let remark = rest_after_words(cx.text, at + 1).to_string();
                    return self.add_remark(cx, &name, remark);
                }
                let ace = acl::parse(&cx.tokens[at..], MaskStyle::Wildcard);
                self.add_entry(cx, &name, sequence, ace);
            }
        }
    }

    fn set_connection(&mut self, cx: &Line<'_>, policy: &str, class: &str, words: &[String]) {
        let mut changes: Vec<(&str, Value)> = Vec::new();
        match words.get(2).map(String::as_str) {
            Some("advanced-options") => {
                if words.len() == 4 && words[3] == "tcp-state-bypass" {
                    changes.push(("tcp-state-bypass", json!(true)));
                } else {
                    return self.problem(
                        cx,
                        "only 'set connection advanced-options tcp-state-bypass' is translated",
                    );
                }
            }
            Some("timeout") => {
                let mut i = 3;
                let mut reset = false;
                while i < words.len() {
                    match words[i].as_str() {
                        kind @ ("idle" | "embryonic") => {
                            let Some(value) = words.get(i + 1) else {
                                return self.problem(cx, format!("'{kind}' without a time"));
                            };
                            let secs = match parse_hms(value) {
                                Ok(s) => s,
                                Err(e) => return self.problem(cx, e),
                            };
                            let (leaf, max) = if kind == "idle" {
                                ("idle-timeout", 4_294_800)
                            } else {
                                ("embryonic-timeout", 3600)
                            };
                            if secs == 0 || secs > max {
                                return self.problem(
                                    cx,
                                    format!(
                                        "{kind} {value} is outside what Tether accepts (0:00:01 to {}); 0:00:00 (never time out) has no equivalent",
                                        crate::timefmt::hms(max)
                                    ),
                                );
                            }
                            changes.push((leaf, json!(secs)));
                            i += 2;
                        }
                        "reset" => {
                            reset = true;
                            i += 1;
                        }
                        other => {
                            return self.problem(
                                cx,
                                format!("timeout {other} cannot be translated: Tether has idle and embryonic timeouts"),
                            );
                        }
                    }
                }
                if changes.is_empty() {
                    return self.problem(cx, "expected 'set connection timeout idle H:MM:SS'");
                }
                if reset {
                    // Translating the timeout without the reset would silently change
                    // behaviour (no RST to the endpoints); refuse the line as a whole.
                    return self.problem(
                        cx,
                        "'reset' (send TCP RST when a connection times out) cannot be translated; remove it to import the timeout",
                    );
                }
            }
            _ => {
                return self.problem(
                    cx,
                    "only 'set connection timeout idle|embryonic' and 'set connection advanced-options tcp-state-bypass' are translated",
                );
            }
        }
        let p = self.policy(policy);
        if let Some((_, config)) = p.classes.iter_mut().find(|(n, _)| n == class) {
            for (k, v) in changes {
                config.insert(k.into(), v);
            }
        }
    }

    fn group(&mut self, id: u16) -> &mut Group {
        let i = match self.groups.iter().position(|g| g.id == id) {
            Some(i) => i,
            None => {
                self.groups.push(Group {
                    id,
                    tracked: false,
                    upstream: Vec::new(),
                    downstream: Vec::new(),
                });
                self.groups.len() - 1
            }
        };
        &mut self.groups[i]
    }

    fn add_members(&mut self, cx: &Line<'_>, id: u16, upstream: bool, names: &[String]) {
        for name in names {
            let clash = self.groups.iter().find_map(|g| {
                let (same, other) = if upstream {
                    (&g.upstream, &g.downstream)
                } else {
                    (&g.downstream, &g.upstream)
                };
                if other.contains(name) {
                    Some(format!(
                        "{name} is already {} of link state group {}; an interface is upstream or downstream, never both",
                        if upstream { "downstream" } else { "upstream" },
                        g.id
                    ))
                } else if g.id != id && same.contains(name) {
                    Some(format!(
                        "{name} is already {} of link state group {}; an interface belongs to one group",
                        if upstream { "upstream" } else { "downstream" },
                        g.id
                    ))
                } else {
                    None
                }
            });
            if let Some(why) = clash {
                self.problem(cx, why);
                continue;
            }
            let g = self.group(id);
            let side = if upstream {
                &mut g.upstream
            } else {
                &mut g.downstream
            };
            if !side.contains(name) {
                side.push(name.clone());
            }
        }
    }

    /// Reports what is left incomplete at the end of the text.
    fn finish(&mut self) {
        let mut late = Vec::new();
        for a in &mut self.access_lists {
            for (line, text, _) in a.pending_remarks.drain(..) {
                late.push(Problem {
                    line,
                    text,
                    why: format!(
                        "no entry of access-list {} follows this remark, so it has nothing to attach to",
                        a.name
                    ),
                });
            }
        }
        for c in &self.classes {
            if c.access_list.is_none() {
                late.push(Problem {
                    line: c.line,
                    text: c.text.clone(),
                    why: format!(
                        "class-map {} has no 'match access-list', which Tether requires",
                        c.name
                    ),
                });
            }
        }
        self.classes.retain(|c| c.access_list.is_some());
        self.access_lists
            .retain(|a| a.declared || !a.entries.is_empty());
        self.problems.extend(late);
        self.problems.sort_by_key(|p| p.line);
    }

    // ===== output =====

    /// True when nothing was translated.
    pub fn is_empty(&self) -> bool {
        self.bypass_json().is_none() && self.link_state_json().is_none()
    }

    /// The Set content: (schema path of a module's top container, its JSON value), one per
    /// module that the text configures.
    pub fn updates(&self) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        if let Some(v) = self.bypass_json() {
            out.push((tether_conntrack_bypass::bypass::PATH.to_string(), v));
        }
        if let Some(v) = self.link_state_json() {
            out.push((tether_link_state::link_state::PATH.to_string(), v));
        }
        out
    }

    fn bypass_json(&self) -> Option<Value> {
        let mut root = Map::new();
        let acls: Vec<Value> = self
            .access_lists
            .iter()
            .map(|a| {
                let mut v = json!({"name": a.name, "config": {"name": a.name}});
                if !a.entries.is_empty() {
                    v["entries"] = json!({"entry": a.entries.iter().map(|(s, c)| {
                        json!({"sequence": s, "config": c})
                    }).collect::<Vec<_>>()});
                }
                v
            })
            .collect();
        if !acls.is_empty() {
            root.insert("access-lists".into(), json!({"access-list": acls}));
        }
        let classes: Vec<Value> = self
            .classes
            .iter()
            .filter_map(|c| {
                let acl = c.access_list.as_ref()?;
                Some(json!({"name": c.name, "config": {"name": c.name, "match-access-list": acl}}))
            })
            .collect();
        if !classes.is_empty() {
            root.insert("classes".into(), json!({"class": classes}));
        }
        let policies: Vec<Value> = self
            .policies
            .iter()
            .map(|p| {
                let mut config = json!({"name": p.name});
                if let Some(d) = &p.description {
                    config["description"] = json!(d);
                }
                let mut v = json!({"name": p.name, "config": config});
                if !p.classes.is_empty() {
                    v["classes"] = json!({"class": p.classes.iter().map(|(n, c)| {
                        json!({"name": n, "config": c})
                    }).collect::<Vec<_>>()});
                }
                v
            })
            .collect();
        if !policies.is_empty() {
            root.insert("policies".into(), json!({"policy": policies}));
        }
        if !self.service_policies.is_empty() {
            root.insert(
                "service-policies".into(),
                json!({"service-policy": self.service_policies.iter().map(|(i, p)| {
                    json!({"interface": i, "config": {"interface": i, "policy": p}})
                }).collect::<Vec<_>>()}),
            );
        }
        if let Some(p) = &self.global_policy {
            root.insert("global-policy".into(), json!({"config": {"policy": p}}));
        }
        (!root.is_empty()).then_some(Value::Object(root))
    }

    fn link_state_json(&self) -> Option<Value> {
        if self.groups.is_empty() {
            return None;
        }
        let members = |names: &[String]| {
            json!({"interfaces": {"interface": names.iter().map(|n| {
                json!({"name": n, "config": {"name": n}})
            }).collect::<Vec<_>>()}})
        };
        let groups: Vec<Value> = self
            .groups
            .iter()
            .map(|g| {
                let mut config = json!({"id": g.id});
                if g.tracked {
                    config["enabled"] = json!(true);
                }
                let mut v = json!({"id": g.id, "config": config});
                if !g.upstream.is_empty() {
                    v["upstream"] = members(&g.upstream);
                }
                if !g.downstream.is_empty() {
                    v["downstream"] = members(&g.downstream);
                }
                v
            })
            .collect();
        Some(json!({"groups": {"group": groups}}))
    }

    /// What the Set will configure, for people: one line per object.
    pub fn summary(&self) -> Vec<String> {
        let mut out = Vec::new();
        for a in &self.access_lists {
            out.push(format!(
                "access-list {}: {} entries (sequence {})",
                a.name,
                a.entries.len(),
                a.entries
                    .iter()
                    .map(|(s, _)| s.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for c in &self.classes {
            if let Some(acl) = &c.access_list {
                out.push(format!("class-map {}: match access-list {acl}", c.name));
            }
        }
        for p in &self.policies {
            let classes: Vec<String> = p
                .classes
                .iter()
                .map(|(n, c)| {
                    let mut s = n.clone();
                    if let Some(t) = c.get("idle-timeout").and_then(Value::as_u64) {
                        s.push_str(&format!(" idle {}", crate::timefmt::hms(t)));
                    }
                    if let Some(t) = c.get("embryonic-timeout").and_then(Value::as_u64) {
                        s.push_str(&format!(" embryonic {}", crate::timefmt::hms(t)));
                    }
                    if c.get("tcp-state-bypass") == Some(&json!(true)) {
                        s.push_str(" tcp-state-bypass");
                    }
                    s
                })
                .collect();
            out.push(format!(
                "policy-map {}: class {}",
                p.name,
                if classes.is_empty() {
                    "(none)".to_string()
                } else {
                    classes.join("; class ")
                }
            ));
        }
        for (i, p) in &self.service_policies {
            out.push(format!("service-policy {p} interface {i}"));
        }
        if let Some(p) = &self.global_policy {
            out.push(format!("service-policy {p} global"));
        }
        for g in &self.groups {
            out.push(format!(
                "link state group {}{}: upstream {}; downstream {}",
                g.id,
                if g.tracked { " (track)" } else { "" },
                list_or_none(&g.upstream),
                list_or_none(&g.downstream)
            ));
        }
        out
    }
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "(none)".into()
    } else {
        names.join(" ")
    }
}

/// Only reached if the block bookkeeping is wrong; reported rather than panicking.
fn unreachable_global(t: &mut Translation, cx: &Line<'_>) {
    t.problem(cx, "internal: sub-command outside a block");
}

fn parse_group_id(text: &str) -> Result<u16, String> {
    text.parse::<u16>()
        .ok()
        .filter(|n| (1..=4096).contains(n))
        .ok_or_else(|| format!("link state group {text:?} is not a number from 1 to 4096"))
}

#[cfg(test)]
mod tests;
