//! The access-list index: first-match-by-sequence without scanning entries per packet.
//!
//! # Structure: tuple space search
//!
//! Entries are grouped into *tuples* by their shape: (address family, protocol given or `ip`,
//! destination prefix length, source prefix length). Within a tuple every entry masks the packet
//! the same way, so one hash lookup of (protocol, masked destination, masked source) finds all the
//! tuple's entries that can match on addresses — a list in sequence order that then only needs its
//! ports checked. A lookup probes each tuple of the packet's family; real ACLs have a handful of
//! shapes (/32, /24, /16, any...), so a verdict costs a few hash probes whatever the entry count.
//!
//! First match: entries are numbered by rank (position in sequence order). Tuples are sorted by the
//! rank of their first entry, so once a match of rank `r` is found every tuple whose first entry
//! ranks after `r` is skipped (it cannot hold an earlier match), and a leaf list stops at `r`.
//!
//! Ports: a leaf with few entries is scanned in rank order. A leaf with many entries differing only
//! by ports (e.g. hundreds of `permit tcp any host X eq P`) gets a second level: the destination
//! port space cut into elementary intervals, each holding the ranks whose range covers it.
//!
//! Worst case (every entry a different prefix-length pair) degrades to one probe per shape (at most
//! 33 × 33 × 2 per family for IPv4); the bench reports the realistic case.

use std::net::IpAddr;

use crate::hash::FastMap;
use crate::prefix::PortRange;
use crate::prefix::{mask, to_bits};
use crate::program::{AccessList, AclAction, AclEntry};

/// A leaf with more entries than this gets a destination-port index.
const PORT_INDEX_THRESHOLD: usize = 16;
/// ...unless overlapping ranges would make it this many times larger than the leaf.
const PORT_INDEX_MAX_BLOWUP: usize = 32;

/// A packet's fields in the form the index needs, computed once per packet.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FlowView {
    pub protocol: u8,
    pub v6: bool,
    pub src: u128,
    pub dst: u128,
    pub src_port: u16,
    pub dst_port: u16,
}

impl FlowView {
    pub(crate) fn new(
        protocol: u8,
        src: IpAddr,
        dst: IpAddr,
        src_port: u16,
        dst_port: u16,
    ) -> Self {
        Self {
            protocol,
            v6: src.is_ipv6(),
            src: to_bits(src),
            dst: to_bits(dst),
            src_port,
            dst_port,
        }
    }
}

/// One compiled access-list.
#[derive(Debug)]
pub(crate) struct AclIndex {
    /// In sequence order; a rank is an index into this.
    entries: Vec<RankedEntry>,
    v4: Vec<Tuple>,
    v6: Vec<Tuple>,
}

#[derive(Debug, Clone)]
pub(crate) struct RankedEntry {
    pub sequence: u32,
    pub action: AclAction,
    src_ports: PortRange,
    dst_ports: PortRange,
}

#[derive(Debug)]
struct Tuple {
    any_protocol: bool,
    dst_mask: u128,
    src_mask: u128,
    /// Rank of the tuple's first entry; tuples are sorted by it.
    first: u32,
    leaves: FastMap<TupleKey, Leaf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct TupleKey {
    protocol: u8,
    dst: u128,
    src: u128,
}

#[derive(Debug)]
enum Leaf {
    /// Ranks in increasing order.
    Scan(Vec<u32>),
    /// `starts[k]..starts[k+1]` is an elementary destination-port interval; `ranks[k]` (increasing)
    /// are the entries whose destination range covers it.
    ByDstPort {
        starts: Vec<u16>,
        ranks: Vec<Vec<u32>>,
    },
}

impl AclIndex {
    pub(crate) fn build(list: &AccessList) -> Self {
        let mut sorted: Vec<&AclEntry> = list.entries.iter().collect();
        sorted.sort_by_key(|e| e.sequence);

        // Shape → position in `shapes`, which holds (v6, tuple, leaves being built).
        let mut shape_of: FastMap<(bool, bool, u8, u8), usize> = FastMap::default();
        let mut shapes: Vec<(bool, Tuple, FastMap<TupleKey, Vec<u32>>)> = Vec::new();
        let mut entries = Vec::with_capacity(sorted.len());
        for (rank, e) in sorted.iter().enumerate() {
            let rank = rank as u32;
            let v6 = e.destination.is_ipv6();
            let shape = (
                v6,
                e.protocol.is_none(),
                e.destination.prefix_len(),
                e.source.prefix_len(),
            );
            let at = *shape_of.entry(shape).or_insert_with(|| {
                let tuple = Tuple {
                    any_protocol: e.protocol.is_none(),
                    dst_mask: mask(v6, e.destination.prefix_len()),
                    src_mask: mask(v6, e.source.prefix_len()),
                    first: rank,
                    leaves: FastMap::default(),
                };
                shapes.push((v6, tuple, FastMap::default()));
                shapes.len() - 1
            });
            let key = TupleKey {
                protocol: e.protocol.unwrap_or(0),
                dst: e.destination.bits(),
                src: e.source.bits(),
            };
            shapes[at].2.entry(key).or_default().push(rank);
            entries.push(RankedEntry {
                sequence: e.sequence,
                action: e.action,
                src_ports: e.source_ports,
                dst_ports: e.destination_ports,
            });
        }

        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        for (is_v6, mut tuple, leaves) in shapes {
            tuple.leaves = leaves
                .into_iter()
                .map(|(k, ranks)| (k, Leaf::build(ranks, &entries)))
                .collect();
            if is_v6 {
                v6.push(tuple)
            } else {
                v4.push(tuple)
            }
        }
        v4.sort_by_key(|t| t.first);
        v6.sort_by_key(|t| t.first);
        AclIndex { entries, v4, v6 }
    }

    /// The rank of the first entry (lowest sequence) matching the flow, whatever its action.
    pub(crate) fn first_match(&self, flow: &FlowView) -> Option<usize> {
        let tuples = if flow.v6 { &self.v6 } else { &self.v4 };
        let mut best = u32::MAX;
        for t in tuples {
            if t.first >= best {
                break;
            }
            let key = TupleKey {
                protocol: if t.any_protocol { 0 } else { flow.protocol },
                dst: flow.dst & t.dst_mask,
                src: flow.src & t.src_mask,
            };
            if let Some(leaf) = t.leaves.get(&key)
                && let Some(rank) = leaf.first_match(&self.entries, flow, best)
            {
                best = rank;
            }
        }
        (best != u32::MAX).then_some(best as usize)
    }

    pub(crate) fn entry(&self, rank: usize) -> &RankedEntry {
        &self.entries[rank]
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

impl Leaf {
    fn build(ranks: Vec<u32>, entries: &[RankedEntry]) -> Leaf {
        if ranks.len() <= PORT_INDEX_THRESHOLD {
            return Leaf::Scan(ranks);
        }
        let mut starts: Vec<u16> = vec![0];
        for &r in &ranks {
            let p = entries[r as usize].dst_ports;
            starts.push(p.lo);
            if let Some(next) = p.hi.checked_add(1) {
                starts.push(next);
            }
        }
        starts.sort_unstable();
        starts.dedup();
        let mut lists: Vec<Vec<u32>> = vec![Vec::new(); starts.len()];
        let mut total = 0usize;
        for &r in &ranks {
            let p = entries[r as usize].dst_ports;
            let from = starts.partition_point(|&s| s < p.lo);
            let to = starts.partition_point(|&s| s <= p.hi);
            total += to - from;
            if total > ranks.len() * PORT_INDEX_MAX_BLOWUP {
                return Leaf::Scan(ranks);
            }
            for list in &mut lists[from..to] {
                list.push(r);
            }
        }
        Leaf::ByDstPort {
            starts,
            ranks: lists,
        }
    }

    /// The lowest rank below `best` whose ports match.
    #[inline]
    fn first_match(&self, entries: &[RankedEntry], flow: &FlowView, best: u32) -> Option<u32> {
        let ranks: &[u32] = match self {
            Leaf::Scan(ranks) => ranks,
            Leaf::ByDstPort { starts, ranks } => {
                // `starts[0] == 0`, so the point is at least 1.
                let k = starts.partition_point(|&s| s <= flow.dst_port) - 1;
                &ranks[k]
            }
        };
        ranks.iter().copied().take_while(|&r| r < best).find(|&r| {
            let e = &entries[r as usize];
            e.src_ports.contains(flow.src_port) && e.dst_ports.contains(flow.dst_port)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prefix::IpPrefix;
    use proptest::prelude::*;

    fn entry(
        sequence: u32,
        action: AclAction,
        protocol: Option<u8>,
        src: &str,
        dst: &str,
        dports: PortRange,
    ) -> AclEntry {
        AclEntry {
            sequence,
            action,
            protocol,
            source: src.parse().unwrap(),
            destination: dst.parse().unwrap(),
            source_ports: PortRange::ANY,
            destination_ports: dports,
        }
    }

    fn naive(list: &AccessList, f: &(u8, IpAddr, IpAddr, u16, u16)) -> Option<u32> {
        let mut sorted: Vec<&AclEntry> = list.entries.iter().collect();
        sorted.sort_by_key(|e| e.sequence);
        sorted
            .iter()
            .find(|e| e.matches(f.0, f.1, f.2, f.3, f.4))
            .map(|e| e.sequence)
    }

    fn indexed(index: &AclIndex, f: &(u8, IpAddr, IpAddr, u16, u16)) -> Option<u32> {
        index
            .first_match(&FlowView::new(f.0, f.1, f.2, f.3, f.4))
            .map(|r| index.entry(r).sequence)
    }

    #[test]
    fn first_match_wins_across_shapes() {
        use AclAction::*;
        let list = AccessList {
            entries: vec![
                entry(
                    10,
                    Deny,
                    Some(6),
                    "198.18.1.5/32",
                    "198.19.0.0/16",
                    PortRange::single(22),
                ),
                entry(
                    20,
                    Permit,
                    Some(6),
                    "198.18.1.0/24",
                    "198.19.0.0/16",
                    PortRange::ANY,
                ),
                entry(
                    30,
                    Permit,
                    None,
                    "198.18.0.0/15",
                    "0.0.0.0/0",
                    PortRange::ANY,
                ),
                entry(40, Deny, None, "0.0.0.0/0", "0.0.0.0/0", PortRange::ANY),
                entry(50, Permit, None, "::/0", "2001:db8::/32", PortRange::ANY),
            ],
        };
        let index = AclIndex::build(&list);
        let a = |s: &str| s.parse::<IpAddr>().unwrap();
        let cases = [
            ((6, a("198.18.1.5"), a("198.19.3.3"), 1000, 22), Some(10)),
            ((6, a("198.18.1.5"), a("198.19.3.3"), 1000, 23), Some(20)),
            ((17, a("198.18.1.5"), a("198.19.3.3"), 1000, 22), Some(30)),
            ((6, a("192.0.2.1"), a("198.19.3.3"), 1000, 22), Some(40)),
            ((6, a("2001:db8::1"), a("2001:db8::2"), 1, 2), Some(50)),
            ((6, a("2001:db8::1"), a("2001:db9::2"), 1, 2), None),
        ];
        for (flow, want) in cases {
            assert_eq!(indexed(&index, &flow), want, "{flow:?}");
            assert_eq!(naive(&list, &flow), want, "{flow:?}");
        }
    }

    #[test]
    fn many_ports_in_one_leaf_use_the_port_index() {
        let entries = (0..100u16)
            .map(|i| {
                entry(
                    u32::from(i) * 10,
                    AclAction::Permit,
                    Some(6),
                    "0.0.0.0/0",
                    "198.19.0.1/32",
                    PortRange::single(1000 + i),
                )
            })
            .collect();
        let list = AccessList { entries };
        let index = AclIndex::build(&list);
        assert!(matches!(
            index.v4[0].leaves.values().next(),
            Some(Leaf::ByDstPort { .. })
        ));
        let a = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            indexed(&index, &(6, a("1.1.1.1"), a("198.19.0.1"), 5, 1042)),
            Some(420)
        );
        assert_eq!(
            indexed(&index, &(6, a("1.1.1.1"), a("198.19.0.1"), 5, 999)),
            None
        );
        assert_eq!(
            indexed(&index, &(6, a("1.1.1.1"), a("198.19.0.1"), 5, 1100)),
            None
        );
    }

    // ===== property test: index == naive linear first match =====

    /// Small address and port spaces so random entries and packets actually overlap.
    fn addr(v6: bool) -> impl Strategy<Value = IpAddr> {
        (0u8..4, 0u8..4).prop_map(move |(a, b)| {
            if v6 {
                IpAddr::from([0x2001, 0xdb8, u16::from(a) << 8, 0, 0, 0, 0, u16::from(b)])
            } else {
                IpAddr::from([198, 18, a, b])
            }
        })
    }

    fn prefix(v6: bool) -> impl Strategy<Value = IpPrefix> {
        let lens: Vec<u8> = if v6 {
            vec![0, 32, 40, 64, 127, 128]
        } else {
            vec![0, 15, 16, 24, 30, 32]
        };
        (addr(v6), proptest::sample::select(lens)).prop_map(move |(a, len)| {
            let bits = to_bits(a) & mask(v6, len);
            let a = if v6 {
                IpAddr::from(bits.to_be_bytes())
            } else {
                IpAddr::from((bits as u32).to_be_bytes())
            };
            IpPrefix::new(a, len).unwrap()
        })
    }

    fn ports() -> impl Strategy<Value = PortRange> {
        prop_oneof![
            Just(PortRange::ANY),
            (0u16..8).prop_map(PortRange::single),
            (0u16..8, 0u16..8).prop_map(|(a, b)| PortRange {
                lo: a.min(b),
                hi: a.max(b)
            }),
            (65530u16..=65535).prop_map(|a| PortRange { lo: a, hi: 65535 }),
        ]
    }

    fn acl_entry() -> impl Strategy<Value = AclEntry> {
        let protocol = prop_oneof![Just(None), Just(Some(6u8)), Just(Some(17u8))];
        (any::<bool>(), any::<bool>(), protocol).prop_flat_map(|(v6, permit, protocol)| {
            let with_ports = protocol.is_some();
            (0u32..10_000, prefix(v6), prefix(v6), ports(), ports()).prop_map(
                move |(seq, src, dst, sp, dp)| AclEntry {
                    sequence: seq,
                    action: if permit {
                        AclAction::Permit
                    } else {
                        AclAction::Deny
                    },
                    protocol,
                    source: src,
                    destination: dst,
                    source_ports: if with_ports { sp } else { PortRange::ANY },
                    destination_ports: if with_ports { dp } else { PortRange::ANY },
                },
            )
        })
    }

    fn flow() -> impl Strategy<Value = (u8, IpAddr, IpAddr, u16, u16)> {
        let protocol = prop_oneof![Just(6u8), Just(17u8), Just(1u8)];
        let port = prop_oneof![0u16..9, 65528u16..=65535];
        any::<bool>().prop_flat_map(move |v6| {
            (
                protocol.clone(),
                addr(v6),
                addr(v6),
                port.clone(),
                port.clone(),
            )
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn index_agrees_with_linear_first_match(
            raw in proptest::collection::vec(acl_entry(), 0..80),
            flows in proptest::collection::vec(flow(), 1..64),
        ) {
            // Unique sequences, as validation guarantees.
            let mut seen = std::collections::BTreeSet::new();
            let entries: Vec<AclEntry> = raw.into_iter().filter(|e| seen.insert(e.sequence)).collect();
            let list = AccessList { entries };
            let index = AclIndex::build(&list);
            for f in &flows {
                prop_assert_eq!(indexed(&index, f), naive(&list, f), "flow {:?}", f);
            }
        }

        /// Many entries sharing one address key, so leaves get the destination-port index.
        #[test]
        fn port_index_agrees_with_linear_first_match(
            raw in proptest::collection::vec((0u32..10_000, any::<bool>(), ports(), ports()), 17..120),
            flows in proptest::collection::vec((0u16..9, prop_oneof![0u16..9, 65528u16..=65535]), 1..64),
        ) {
            let mut seen = std::collections::BTreeSet::new();
            let entries: Vec<AclEntry> = raw
                .into_iter()
                .filter(|e| seen.insert(e.0))
                .map(|(seq, permit, sp, dp)| AclEntry {
                    source_ports: sp,
                    ..entry(seq, if permit { AclAction::Permit } else { AclAction::Deny }, Some(6), "198.18.0.0/16", "198.19.0.1/32", dp)
                })
                .collect();
            let list = AccessList { entries };
            let index = AclIndex::build(&list);
            let (src, dst) = ("198.18.3.4".parse().unwrap(), "198.19.0.1".parse().unwrap());
            for (sp, dp) in flows {
                let f = (6, src, dst, sp, dp);
                prop_assert_eq!(indexed(&index, &f), naive(&list, &f), "flow {:?}", f);
            }
        }
    }
}
