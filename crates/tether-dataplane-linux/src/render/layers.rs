//! Layers: the sets of non-overlapping entries a run of an access-list is cut into.
//!
//! The kernel's concatenated interval sets (pipapo) refuse overlapping elements, so each entry
//! is seen as a box of closed intervals ([`Boxed`]) and goes to the first [`Layer`] that holds
//! no box it overlaps. A layer is indexed by source prefix so that this check stays cheap on
//! long access-lists.

use std::collections::BTreeMap;
use std::net::IpAddr;

use tether_dataplane::{AclEntry, IpPrefix};

/// An entry's selector as closed intervals, for overlap checks and element text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Boxed {
    pub(super) v6: bool,
    src: (u128, u128),
    dst: (u128, u128),
    proto: (u8, u8),
    sport: (u16, u16),
    dport: (u16, u16),
}

fn prefix_range(p: &IpPrefix) -> (u128, u128) {
    let width: u32 = if p.is_ipv6() { 128 } else { 32 };
    let bits = match p.addr() {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    };
    let host_bits = width - u32::from(p.prefix_len());
    let span = if host_bits >= 128 {
        u128::MAX
    } else {
        (1u128 << host_bits) - 1
    };
    (bits, bits | span)
}

fn overlaps<T: Ord>(a: &(T, T), b: &(T, T)) -> bool {
    a.0 <= b.1 && b.0 <= a.1
}

impl Boxed {
    pub(super) fn of(e: &AclEntry) -> Self {
        let proto = e.protocol.map_or((0, 255), |p| (p, p));
        Boxed {
            v6: e.source.is_ipv6(),
            src: prefix_range(&e.source),
            dst: prefix_range(&e.destination),
            proto,
            sport: (e.source_ports.lo, e.source_ports.hi),
            dport: (e.destination_ports.lo, e.destination_ports.hi),
        }
    }

    pub(super) fn overlaps(&self, o: &Boxed) -> bool {
        self.v6 == o.v6
            && overlaps(&self.src, &o.src)
            && overlaps(&self.dst, &o.dst)
            && overlaps(&self.proto, &o.proto)
            && overlaps(&self.sport, &o.sport)
            && overlaps(&self.dport, &o.dport)
    }
}

/// Boxes of one layer, indexed by source prefix `(network, length)`. Two CIDR prefixes overlap
/// only if one contains the other, so the boxes whose source overlaps a new one are those whose
/// source lies inside it (a range scan) or contains it (one lookup per shorter length): checking
/// an entry costs about its address width in lookups, not the layer's size, for the usual
/// access-list of specific prefixes.
#[derive(Debug)]
pub(super) struct Layer {
    by_source: BTreeMap<(u128, u8), Vec<Boxed>>,
    /// Which source prefix lengths the layer holds, so only those are looked up.
    lengths: [bool; 129],
}

impl Default for Layer {
    fn default() -> Self {
        Self {
            by_source: BTreeMap::new(),
            lengths: [false; 129],
        }
    }
}

impl Layer {
    fn candidates<'a>(&'a self, b: &Boxed, src: &IpPrefix) -> impl Iterator<Item = &'a Boxed> + 'a {
        let len = src.prefix_len();
        let v6 = b.v6;
        let width: u8 = if v6 { 128 } else { 32 };
        let (lo, hi) = b.src;
        let inside = self
            .by_source
            .range((lo, len)..=(hi, width))
            .filter(move |((net, l), _)| *l >= len && *net <= hi)
            .flat_map(|(_, v)| v.iter());
        let containing = (0..len)
            .filter(|l| self.lengths[usize::from(*l)])
            .filter_map(move |l| {
                let host_bits = u32::from(width - l);
                let mask = if host_bits >= 128 {
                    0
                } else {
                    !((1u128 << host_bits) - 1)
                };
                let mask = if v6 {
                    mask
                } else {
                    mask & u128::from(u32::MAX)
                };
                self.by_source.get(&(lo & mask, l))
            });
        inside.chain(containing.flat_map(|v| v.iter()))
    }

    pub(super) fn overlaps(&self, b: &Boxed, src: &IpPrefix) -> bool {
        self.candidates(b, src).any(|o| o.overlaps(b))
    }

    pub(super) fn contains(&self, b: &Boxed, src: &IpPrefix) -> bool {
        self.by_source
            .get(&(b.src.0, src.prefix_len()))
            .is_some_and(|v| v.contains(b))
    }

    pub(super) fn insert(&mut self, b: Boxed, src: &IpPrefix) {
        self.lengths[usize::from(src.prefix_len())] = true;
        self.by_source
            .entry((b.src.0, src.prefix_len()))
            .or_default()
            .push(b);
    }
}
