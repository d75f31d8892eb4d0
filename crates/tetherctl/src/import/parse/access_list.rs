//! Access-lists: ASA `access-list NAME [extended] ...` lines, IOS numbered `access-list 100 ...`
//! lines, IOS `ip access-list extended NAME` / `ipv6 access-list NAME` blocks, and the
//! `remark` lines of all three. The entry itself (`permit tcp ...`) is [`acl::parse`]'s.

use super::super::acl::{self, MaskStyle};
use super::super::ir::Entry;
use super::super::lex::Line;
use super::{Block, Parser, PendingRemark, check_name};

/// The YANG `remark` length; remarks before one entry are joined, so they count together.
const MAX_REMARK: usize = 100;

const STANDARD_ACL: &str =
    "standard access-lists select routes, not traffic; bypass needs an extended access-list";

impl Parser {
    /// `access-list NAME ...` (ASA, or IOS numbered).
    pub(super) fn access_list_line(&mut self, cx: &Line<'_>) {
        let Some(&name) = cx.tokens.get(1) else {
            return self.problem(cx, "access-list without a name");
        };
        if let Err(e) = check_name("access-list", name) {
            return self.problem(cx, e);
        }
        let mut at = 2;
        let numbered = name.parse::<u32>().ok();
        match cx.word(at) {
            "remark" => {
                let remark = cx.rest_after_words(3).to_string();
                return self.add_remark(cx, name, remark);
            }
            "line" => {
                return self.problem(
                    cx,
                    "'line N' (insert at a position) cannot be translated; list the entries in order instead",
                );
            }
            "standard" => return self.problem(cx, STANDARD_ACL),
            kind @ ("webtype" | "ethertype" | "rename" | "dynamic") => {
                return self.problem(cx, format!("{kind} access-lists cannot be translated"));
            }
            _ => {}
        }
        let extended = cx.word(at) == "extended";
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

    /// `ip access-list extended NAME` / `ipv6 access-list NAME`.
    pub(super) fn ios_access_list_header(&mut self, cx: &Line<'_>) -> Block {
        let name = match (cx.words.get(2).map(String::as_str), cx.tokens.get(3)) {
            (Some("extended"), Some(n)) if cx.word(0) == "ip" && cx.tokens.len() == 4 => *n,
            (Some(_), None) if cx.word(0) == "ipv6" => cx.tokens[2],
            (Some("standard"), _) => return self.untranslated(cx, STANDARD_ACL),
            _ => {
                return self.untranslated(
                    cx,
                    "expected 'ip access-list extended NAME' or 'ipv6 access-list NAME'",
                );
            }
        };
        if let Err(e) = check_name("access-list", name) {
            return self.untranslated(cx, e);
        }
        self.config.access_list(name);
        if !self.declared.iter().any(|d| d == name) {
            self.declared.push(name.to_string());
        }
        Block::IosAccessList(name.to_string())
    }

    /// A line of an `ip access-list` block: `[sequence] [SEQ] permit|deny ...` or `remark`.
    pub(super) fn ios_access_list_command(&mut self, cx: &Line<'_>, name: &str) {
        if cx.word(0) == "remark" {
            let remark = cx.rest_after_words(1).to_string();
            return self.add_remark(cx, name, remark);
        }
        let mut at = usize::from(cx.word(0) == "sequence");
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
            let remark = cx.rest_after_words(at + 1).to_string();
            return self.add_remark(cx, name, remark);
        }
        let ace = acl::parse(&cx.tokens[at..], MaskStyle::Wildcard);
        self.add_entry(cx, name, sequence, ace);
    }

    fn add_remark(&mut self, cx: &Line<'_>, access_list: &str, remark: String) {
        if remark.is_empty() {
            return self.problem(cx, "empty remark");
        }
        // Named here so the access-list keeps the place of its first line in the Set.
        self.config.access_list(access_list);
        let joined: usize = self
            .pending_remarks
            .iter()
            .filter(|r| r.access_list == access_list)
            .map(|r| r.remark.len() + 1)
            .sum::<usize>()
            + remark.len();
        if joined > MAX_REMARK {
            return self.problem(
                cx,
                format!("a remark of an entry is at most {MAX_REMARK} characters (with the remarks before it); this one is dropped"),
            );
        }
        self.pending_remarks.push(PendingRemark {
            access_list: access_list.to_string(),
            line: cx.number,
            text: cx.text.to_string(),
            remark,
        });
    }

    /// Adds an entry at `sequence` (or 10 after the last), with the pending remarks.
    fn add_entry(
        &mut self,
        cx: &Line<'_>,
        access_list: &str,
        sequence: Option<u32>,
        ace: Result<acl::Ace, String>,
    ) {
        let (mine, others): (Vec<PendingRemark>, Vec<PendingRemark>) = self
            .pending_remarks
            .drain(..)
            .partition(|r| r.access_list == access_list);
        self.pending_remarks = others;
        let remarks: Vec<String> = mine.into_iter().map(|r| r.remark).collect();
        let list = self.config.access_list(access_list);
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
        let last = list.entries.last().map_or(0, |e| e.sequence);
        let sequence = match sequence {
            Some(s) => s,
            None => match last.checked_add(10) {
                Some(s) => s,
                None => return self.problem(cx, "sequence numbers run out"),
            },
        };
        if list.entries.iter().any(|e| e.sequence == sequence) {
            return self.problem(cx, format!("sequence number {sequence} is used twice"));
        }
        let remark = (!remarks.is_empty()).then(|| remarks.join(" "));
        list.entries.push(Entry {
            sequence,
            ace,
            remark,
        });
        list.entries.sort_by_key(|e| e.sequence);
    }
}
