//! `IpPrefix` and `PortRange`: the selectors of an access-list entry.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ProgramError;

/// An IPv4 or IPv6 prefix in canonical form (no host bits set).
///
/// Validated on construction (also when deserialised), so the classifier can index it without checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IpPrefix {
    addr: IpAddr,
    len: u8,
}

impl IpPrefix {
    /// A prefix; fails if `len` exceeds the address width or `addr` has bits set past `len`
    /// (a typo such as `10.1.2.3/8` is far more often a mistake than an intent).
    pub fn new(addr: IpAddr, len: u8) -> Result<Self, ProgramError> {
        let max = width(addr);
        if len > max {
            return Err(ProgramError::PrefixTooLong {
                addr: addr.to_string(),
                len,
                max,
            });
        }
        let canonical = from_bits(addr.is_ipv6(), to_bits(addr) & mask(addr.is_ipv6(), len));
        if canonical != addr {
            return Err(ProgramError::HostBitsSet {
                addr: addr.to_string(),
                len,
                canonical: format!("{canonical}/{len}"),
            });
        }
        Ok(Self { addr, len })
    }

    /// A single host (`/32` or `/128`).
    pub fn host(addr: IpAddr) -> Self {
        Self {
            addr,
            len: width(addr),
        }
    }

    /// Every IPv4 address (`0.0.0.0/0`).
    pub fn any_v4() -> Self {
        Self {
            addr: IpAddr::from([0, 0, 0, 0]),
            len: 0,
        }
    }

    /// Every IPv6 address (`::/0`).
    pub fn any_v6() -> Self {
        Self {
            addr: IpAddr::from([0u16; 8]),
            len: 0,
        }
    }

    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// Whether this prefix matches every address of its family (`len == 0`).
    pub fn is_any(&self) -> bool {
        self.len == 0
    }

    pub fn is_ipv6(&self) -> bool {
        self.addr.is_ipv6()
    }

    /// Whether `addr` lies in this prefix; an address of the other family never does.
    pub fn contains(&self, addr: IpAddr) -> bool {
        addr.is_ipv6() == self.is_ipv6()
            && to_bits(addr) & mask(self.is_ipv6(), self.len) == to_bits(self.addr)
    }

    /// The network bits as an integer (IPv4 in the low 32 bits), for the classifier's keys.
    pub(crate) fn bits(&self) -> u128 {
        to_bits(self.addr)
    }
}

/// Address as an integer; IPv4 occupies the low 32 bits so both families share one key type.
pub(crate) fn to_bits(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

fn from_bits(v6: bool, bits: u128) -> IpAddr {
    if v6 {
        IpAddr::from(bits.to_be_bytes())
    } else {
        // Callers only pass bits that came from an IPv4 address, so the truncation loses nothing.
        IpAddr::from(((bits & u128::from(u32::MAX)) as u32).to_be_bytes())
    }
}

/// The network mask of a `len`-bit prefix, in the same layout as [`to_bits`].
pub(crate) fn mask(v6: bool, len: u8) -> u128 {
    let width: u32 = if v6 { 128 } else { 32 };
    let len = u32::from(len).min(width);
    if len == 0 {
        return 0;
    }
    let ones = u128::MAX << (128 - len);
    if v6 { ones } else { ones >> 96 }
}

fn width(addr: IpAddr) -> u8 {
    if addr.is_ipv6() { 128 } else { 32 }
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromStr for IpPrefix {
    type Err = ProgramError;

    /// `ADDRESS/LENGTH`, or a bare address meaning a host.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let syntax = || ProgramError::PrefixSyntax(s.to_string());
        match s.split_once('/') {
            Some((addr, len)) => {
                let addr = addr.parse::<IpAddr>().map_err(|_| syntax())?;
                let len = len.parse::<u8>().map_err(|_| syntax())?;
                Self::new(addr, len)
            }
            None => Ok(Self::host(s.parse::<IpAddr>().map_err(|_| syntax())?)),
        }
    }
}

impl TryFrom<String> for IpPrefix {
    type Error = ProgramError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<IpPrefix> for String {
    fn from(p: IpPrefix) -> String {
        p.to_string()
    }
}

/// An inclusive range of TCP/UDP ports; `PortRange::ANY` for entries that do not match on ports.
///
/// Fields are public (it is plain data); an empty range (`lo > hi`) is rejected when the program is
/// installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PortRange {
    pub lo: u16,
    pub hi: u16,
}

impl PortRange {
    pub const ANY: PortRange = PortRange {
        lo: 0,
        hi: u16::MAX,
    };

    pub fn single(port: u16) -> Self {
        Self { lo: port, hi: port }
    }

    pub fn contains(&self, port: u16) -> bool {
        self.lo <= port && port <= self.hi
    }

    pub fn is_any(&self) -> bool {
        *self == Self::ANY
    }
}

impl Default for PortRange {
    fn default() -> Self {
        Self::ANY
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_validate() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("10.0.0.0/8", Ok("10.0.0.0/8")),
            ("10.1.2.3", Ok("10.1.2.3/32")),
            ("0.0.0.0/0", Ok("0.0.0.0/0")),
            ("2001:db8::/32", Ok("2001:db8::/32")),
            ("::/0", Ok("::/0")),
            ("10.1.2.3/8", Err("host bits")),
            ("10.0.0.0/33", Err("longer")),
            ("2001:db8::1/129", Err("longer")),
            ("10.0.0/8", Err("cannot parse")),
            ("10.0.0.0/x", Err("cannot parse")),
        ];
        for (input, want) in cases {
            let got = input.parse::<IpPrefix>();
            match (want, got) {
                (Ok(s), Ok(p)) => assert_eq!(p.to_string(), *s, "{input}"),
                (Err(frag), Err(e)) => assert!(e.to_string().contains(frag), "{input}: {e}"),
                (want, got) => panic!("{input}: want {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn contains_respects_family_and_length() {
        let p: IpPrefix = "198.18.0.0/15".parse().unwrap();
        let cases = [
            ("198.18.0.1", true),
            ("198.19.255.255", true),
            ("198.20.0.0", false),
            ("::ffff:198.18.0.1", false),
        ];
        for (addr, want) in cases {
            assert_eq!(p.contains(addr.parse().unwrap()), want, "{addr}");
        }
        assert!(IpPrefix::any_v6().contains("2001:db8::1".parse().unwrap()));
        assert!(!IpPrefix::any_v6().contains("1.2.3.4".parse().unwrap()));
    }

    #[test]
    fn string_conversion_validates() {
        // Deserialisation goes through `TryFrom<String>`, so a bad prefix cannot sneak in via serde.
        let p: IpPrefix = "2001:db8::/32".parse().unwrap();
        assert_eq!(IpPrefix::try_from(String::from(p)).unwrap(), p);
        assert!(IpPrefix::try_from("10.0.0.1/8".to_string()).is_err());
    }
}
