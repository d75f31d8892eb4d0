//! [`Line`]s → [`Config`] and the [`Problem`]s of the lines that could not be translated.
//!
//! A configuration is a sequence of global commands, some of which open a block
//! (`class-map`, `policy-map`, `interface`, `ip access-list`) that the following sub-commands
//! belong to. `Block` is that state; the statements of each feature are in their own file:
//! `parse/access_list.rs`, `parse/policy.rs` (class-map, policy-map, service-policy),
//! `parse/link_state.rs`.
//!
//! Each line either changes the [`Config`] or adds one problem naming it, never both halfway:
//! a line is checked whole before anything is recorded, so the Set never carries part of what
//! a line says.

mod access_list;
mod link_state;
mod policy;

use super::Problem;
use super::ir::Config;
use super::lex::{Line, SESSION_COMMANDS, is_interface_keyword};

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

/// A remark waiting for the next entry of its access-list.
#[derive(Debug, Clone)]
struct PendingRemark {
    access_list: String,
    line: usize,
    text: String,
    remark: String,
}

/// Where a class-map was first declared, to report it if it never gets a `match access-list`.
#[derive(Debug, Clone)]
struct ClassMapHeader {
    name: String,
    line: usize,
    text: String,
}

/// The parser's state between lines. What is only needed while reading (open remarks, where
/// a class-map started, which access-lists an `ip access-list` header declared) stays here,
/// out of the [`Config`].
#[derive(Debug, Default)]
struct Parser {
    config: Config,
    problems: Vec<Problem>,
    /// Declared by `ip access-list` (kept even without entries); an ASA access-list exists
    /// only through its entries.
    declared: Vec<String>,
    pending_remarks: Vec<PendingRemark>,
    class_map_headers: Vec<ClassMapHeader>,
}

/// Parses the commands of a configuration. Never fails: what cannot be translated is in the
/// problems, in line order.
pub fn parse<'a>(lines: impl IntoIterator<Item = Line<'a>>) -> (Config, Vec<Problem>) {
    let mut p = Parser::default();
    let mut block = Block::Global;
    for line in lines {
        if line.sub && block != Block::Global {
            p.sub_command(&mut block, &line);
        } else {
            block = p.global_command(&line);
        }
    }
    p.finish();
    (p.config, p.problems)
}

impl Parser {
    fn problem(&mut self, cx: &Line<'_>, why: impl Into<String>) {
        self.problems.push(Problem {
            line: cx.number,
            text: cx.text.to_string(),
            why: why.into(),
        });
    }

    /// Reports `why` and opens an untranslated block, so the lines under the header are
    /// reported as part of it rather than as misplaced commands.
    fn untranslated(&mut self, cx: &Line<'_>, why: impl Into<String>) -> Block {
        self.problem(cx, why);
        Block::Untranslated { line: cx.number }
    }

    /// Handles a global command and returns the block it opens.
    fn global_command(&mut self, cx: &Line<'_>) -> Block {
        match cx.word(0) {
            "access-list" => {
                self.access_list_line(cx);
                Block::Global
            }
            "ip" | "ipv6" if cx.word(1) == "access-list" => self.ios_access_list_header(cx),
            "class-map" => self.class_map_header(cx),
            "policy-map" => self.policy_map_header(cx),
            "service-policy" => {
                self.service_policy(cx);
                Block::Global
            }
            "link" if cx.word(1) == "state" && cx.word(2) == "track" => {
                self.link_state_track(cx);
                Block::Global
            }
            first if is_interface_keyword(first) => self.interface_header(cx),
            first if SESSION_COMMANDS.contains(&first) => Block::Global,
            _ => {
                self.problem(
                    cx,
                    "not translated: tetherctl import translates access-list, class-map, policy-map, service-policy, link state and interface link state lines only",
                );
                Block::Global
            }
        }
    }

    /// Handles a command inside `block`, which it may close.
    fn sub_command(&mut self, block: &mut Block, cx: &Line<'_>) {
        match cx.word(0) {
            "exit" => {
                // `exit` under a policy-map class returns to the policy-map, as on the ASA.
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
            "end" => {
                *block = Block::Global;
                return;
            }
            _ => {}
        }
        match block {
            // Only reached if the block bookkeeping is wrong; reported rather than panicking.
            Block::Global => self.problem(cx, "internal: sub-command outside a block"),
            Block::Untranslated { line } => {
                let line = *line;
                self.problem(
                    cx,
                    format!("part of the block at line {line}, which is not translated"),
                );
            }
            Block::ClassMap(name) => {
                let name = name.clone();
                self.class_map_command(cx, &name);
            }
            Block::PolicyMap { policy, class } => {
                let policy = policy.clone();
                self.policy_map_command(cx, &policy, class);
            }
            Block::Interfaces(names) => {
                let names = names.clone();
                self.interface_command(cx, &names);
            }
            Block::IosAccessList(name) => {
                let name = name.clone();
                self.ios_access_list_command(cx, &name);
            }
        }
    }

    /// Reports what is left incomplete at the end of the text, and drops what it leaves
    /// without meaning.
    fn finish(&mut self) {
        for r in self.pending_remarks.drain(..) {
            self.problems.push(Problem {
                line: r.line,
                text: r.text,
                why: format!(
                    "no entry of access-list {} follows this remark, so it has nothing to attach to",
                    r.access_list
                ),
            });
        }
        for c in &self.config.class_maps {
            if c.match_access_list.is_some() {
                continue;
            }
            if let Some(h) = self.class_map_headers.iter().find(|h| h.name == c.name) {
                self.problems.push(Problem {
                    line: h.line,
                    text: h.text.clone(),
                    why: format!(
                        "class-map {} has no 'match access-list', which Tether requires",
                        c.name
                    ),
                });
            }
        }
        self.config
            .class_maps
            .retain(|c| c.match_access_list.is_some());
        let declared = &self.declared;
        self.config
            .access_lists
            .retain(|a| declared.contains(&a.name) || !a.entries.is_empty());
        self.problems.sort_by_key(|p| p.line);
    }
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
