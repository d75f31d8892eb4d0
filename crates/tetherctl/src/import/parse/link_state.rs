//! Link state tracking: `link state track N` (global) and `interface X` / `interface range
//! ...` blocks with `link state group N upstream|downstream`.

use super::super::interface;
use super::super::lex::Line;
use super::{Block, Parser};

const GROUP_MEMBER_SYNTAX: &str = "expected 'link state group N upstream|downstream'";

impl Parser {
    /// `link state track N`: enables group N.
    pub(super) fn link_state_track(&mut self, cx: &Line<'_>) {
        match cx.tokens.get(3).map(|n| parse_group_id(n)) {
            Some(Ok(id)) if cx.tokens.len() == 4 => {
                self.config.link_state_group(id).tracked = true;
            }
            Some(Err(e)) => self.problem(cx, e),
            _ => self.problem(cx, "expected 'link state track N'"),
        }
    }

    /// `interface NAME` / `interface range LIST`: opens a block for those interfaces.
    pub(super) fn interface_header(&mut self, cx: &Line<'_>) -> Block {
        let result = if cx.word(1) == "range" {
            interface::expand_range(&cx.rest_after_words(2).replace('\t', " "))
        } else if cx.tokens.len() < 2 {
            Err("interface without a name".to_string())
        } else {
            interface::normalize(cx.rest_after_words(1)).map(|n| vec![n])
        };
        match result {
            Ok(names) => Block::Interfaces(names),
            Err(e) => self.untranslated(cx, e),
        }
    }

    /// A line under `interface`: `link state group N upstream|downstream`.
    pub(super) fn interface_command(&mut self, cx: &Line<'_>, names: &[String]) {
        if !(cx.word(0) == "link" && cx.word(1) == "state" && cx.word(2) == "group") {
            return self.problem(
                cx,
                "not translated under an interface: only 'link state group N upstream|downstream'",
            );
        }
        let id = match cx.tokens.get(3).map(|n| parse_group_id(n)) {
            Some(Ok(id)) => id,
            Some(Err(e)) => return self.problem(cx, e),
            None => return self.problem(cx, GROUP_MEMBER_SYNTAX),
        };
        let upstream = match (cx.word(4), cx.tokens.len()) {
            ("upstream", 5) => true,
            ("downstream", 5) => false,
            _ => return self.problem(cx, GROUP_MEMBER_SYNTAX),
        };
        self.add_members(cx, id, upstream, names);
    }

    /// Adds `names` to one side of group `id`, refusing (per name) an interface that is
    /// already on the other side or in another group, as IOS does.
    fn add_members(&mut self, cx: &Line<'_>, id: u16, upstream: bool, names: &[String]) {
        let (this_side, other_side) = if upstream {
            ("upstream", "downstream")
        } else {
            ("downstream", "upstream")
        };
        for name in names {
            let clash = self.config.link_state_groups.iter().find_map(|g| {
                let (same, other) = if upstream {
                    (&g.upstream, &g.downstream)
                } else {
                    (&g.downstream, &g.upstream)
                };
                if other.contains(name) {
                    Some(format!(
                        "{name} is already {other_side} of link state group {}; an interface is upstream or downstream, never both",
                        g.id
                    ))
                } else if g.id != id && same.contains(name) {
                    Some(format!(
                        "{name} is already {this_side} of link state group {}; an interface belongs to one group",
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
            let g = self.config.link_state_group(id);
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
}

fn parse_group_id(text: &str) -> Result<u16, String> {
    text.parse::<u16>()
        .ok()
        .filter(|n| (1..=4096).contains(n))
        .ok_or_else(|| format!("link state group {text:?} is not a number from 1 to 4096"))
}
