//! Why Tether's connections left the kernel's table, from conntrack's DESTROY events
//! (netlink multicast, `conntrack -E -e DESTROY`: the kernel tells, nothing is polled).
//!
//! One `conntrack -E` process per dataplane, filtered in the kernel to Tether's marks, feeds a
//! queue; the queue is drained under the bypass lock (counters read, installs), where the
//! entries Tether itself deleted (flushes, known by tuple) are told apart, so an event that
//! arrives before its install has recorded the flush is still judged right. A DESTROY carries
//! the entry's last TCP state: a full bypass entry (bypass mark) ends only by its idle
//! timeout, whatever the state; an ordinary one (the classes' mark, syn-check included) that
//! died ESTABLISHED or embryonic timed out idle, one in a closing state was ended by FIN/RST
//! (its closing timeout ran out). An operator's `conntrack -D` of a Tether entry is counted
//! the same way (the event does not say who deleted it).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};

use tracing::{info, warn};

use crate::cmd::Tools;
use crate::conntrack::{self, CtEntry};
use crate::render::{TAG_BYPASS, TAGS_MASK};

/// Events waiting to be judged at most (a burst beyond it is dropped, with a warning).
const QUEUE_MAX: usize = 65_536;
/// Tuples of Tether's own deletions remembered at most while their events are awaited.
const DELETED_MAX: usize = 65_536;

/// (protocol, source, destination, source port, destination port) of an entry.
pub type Tuple = (u8, std::net::IpAddr, std::net::IpAddr, u16, u16);

pub fn tuple(e: &CtEntry) -> Tuple {
    (e.protocol, e.src, e.dst, e.sport, e.dport)
}

/// Teardowns counted per `ct mark`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub idle: u64,
    pub fin_rst: u64,
}

/// The queue the event reader fills.
#[derive(Debug, Default)]
pub struct Queue {
    events: Mutex<VecDeque<CtEntry>>,
}

/// The judged counts, and Tether's own deletions not yet seen as events. Lives in the bypass
/// state, under its lock.
#[derive(Debug, Default)]
pub struct Teardowns {
    pub by_mark: BTreeMap<u32, Counts>,
    deleted: BTreeSet<Tuple>,
    /// Whether the event reader runs (else the counters are derived, as before events).
    pub live: bool,
}

impl Teardowns {
    /// Remembers entries Tether deleted, so their DESTROY events are not teardowns.
    pub fn deleted_by_tether(&mut self, entries: impl IntoIterator<Item = Tuple>) {
        for t in entries {
            if self.deleted.len() >= DELETED_MAX {
                self.deleted.clear();
            }
            self.deleted.insert(t);
        }
    }

    /// Judges every queued event.
    pub fn drain(&mut self, queue: &Queue) {
        let events: Vec<CtEntry> = {
            let mut q = queue.events.lock().unwrap_or_else(|p| p.into_inner());
            q.drain(..).collect()
        };
        for e in events {
            self.judge(&e);
        }
    }

    fn judge(&mut self, e: &CtEntry) {
        if self.deleted.remove(&tuple(e)) {
            return;
        }
        let c = self.by_mark.entry(e.mark).or_default();
        let closing = matches!(
            e.state.as_deref(),
            Some("FIN_WAIT" | "CLOSE_WAIT" | "LAST_ACK" | "TIME_WAIT" | "CLOSE")
        );
        if e.bypass() || !closing {
            c.idle += 1;
        } else {
            c.fin_rst += 1;
        }
    }
}

/// Parses one `conntrack -E -o id,extended` DESTROY line (`[DESTROY] ipv4 2 tcp 6
/// ESTABLISHED src=… mark=… id=…`): the listing's format without its timeout column.
pub fn parse_event(line: &str) -> Option<CtEntry> {
    let rest = line.trim_start().strip_prefix("[DESTROY]")?;
    let mut tokens: Vec<&str> = rest.split_whitespace().collect();
    // family, its number, protocol, its number: the timeout would come next.
    if tokens.len() < 4 {
        return None;
    }
    tokens.insert(4, "0");
    conntrack::parse_line(&tokens.join(" "))
}

/// Starts `conntrack -E -e DESTROY` for Tether's marks (both tags) and a thread that queues
/// what it prints. `None` when it cannot run (then the counters stay derived).
pub fn start(tools: &Tools, queue: Arc<Queue>) -> Option<Child> {
    let mark = format!("{:#x}/{:#x}", TAG_BYPASS & TAGS_MASK, TAGS_MASK);
    let mut child = match tools
        .command(&tools.conntrack)
        .args(["-E", "-e", "DESTROY", "-o", "id,extended", "--mark", &mark])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            warn!(error = %e, "cannot run conntrack -E: teardown counters are derived, not from events");
            return None;
        }
    };
    let stdout = child.stdout.take()?;
    let spawned = std::thread::Builder::new()
        .name("ct-events".into())
        .spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let Some(e) = parse_event(&line) else {
                    continue;
                };
                let mut q = queue.events.lock().unwrap_or_else(|p| p.into_inner());
                if q.len() >= QUEUE_MAX {
                    warn!("conntrack events arrive faster than they are counted; dropping");
                    continue;
                }
                q.push_back(e);
            }
        });
    if let Err(e) = spawned {
        warn!(error = %e, "cannot start the conntrack event reader");
        let _ = child.kill();
        return None;
    }
    info!("counting teardowns from conntrack DESTROY events");
    Some(child)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPIRED: &str = "[DESTROY] ipv4     2 tcp      6 ESTABLISHED src=198.18.0.2 dst=198.19.0.2 sport=48048 dport=5001 src=198.19.0.2 dst=198.18.0.2 sport=5001 dport=48048 [ASSURED] mark=2113929217 id=3021272955";

    #[test]
    fn destroy_lines_parse_in_both_families() {
        let e = parse_event(EXPIRED).expect("parsed");
        assert_eq!(
            (e.protocol, e.sport, e.dport, e.mark, e.id),
            (6, 48048, 5001, 0x7e00_0001, 3021272955)
        );
        assert_eq!(e.state.as_deref(), Some("ESTABLISHED"));
        let v6 = "[DESTROY] ipv6     10 tcp      6 TIME_WAIT src=2001:db8:1::2 dst=2001:db8:2::2 sport=1 dport=2 src=2001:db8:2::2 dst=2001:db8:1::2 sport=2 dport=1 [ASSURED] mark=2130706433 id=7";
        let e = parse_event(v6).expect("parsed");
        assert!(e.src.is_ipv6() && e.state.as_deref() == Some("TIME_WAIT"));
        assert!(
            parse_event("conntrack v1.4.7 (conntrack-tools): 1 flow events have been shown.")
                .is_none()
        );
    }

    #[test]
    fn tether_s_own_deletions_are_not_teardowns_and_states_say_why() {
        let mut t = Teardowns::default();
        let q = Queue::default();
        let bypass = parse_event(EXPIRED).expect("parsed");
        let mut flushed = bypass.clone();
        flushed.sport = 1;
        let mut closing = bypass.clone();
        closing.mark = 0x7f00_0001;
        closing.state = Some("TIME_WAIT".into());
        let mut idle = closing.clone();
        idle.state = Some("ESTABLISHED".into());
        // A full bypass entry ends by its idle timeout even in a closing state.
        let mut bypass_closing = bypass.clone();
        bypass_closing.sport = 2;
        bypass_closing.state = Some("TIME_WAIT".into());
        q.events
            .lock()
            .unwrap()
            .extend([bypass, flushed.clone(), closing, idle, bypass_closing]);
        t.deleted_by_tether([tuple(&flushed)]);
        t.drain(&q);
        assert_eq!(
            t.by_mark[&0x7e00_0001],
            Counts {
                idle: 2,
                fin_rst: 0
            }
        );
        assert_eq!(
            t.by_mark[&0x7f00_0001],
            Counts {
                idle: 1,
                fin_rst: 1
            }
        );
        assert!(t.deleted.is_empty());
    }
}
