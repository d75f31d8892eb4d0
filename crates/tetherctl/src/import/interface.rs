//! Cisco interface names as typed (`g1/1`, `int po11`, `GigabitEthernet 1/0/1`) to the short
//! form IOS shows and Tether stores (`Gi1/1`, `Po11`, `Gi1/0/1`), and `interface range` lists
//! (`g1/1 – 40`, `Gi1/1 - 4 , Gi1/10 - 12, Po11`).

/// Interface types: (full lower-case name, short forms accepted as typed, the IOS short name,
/// whether any unambiguous prefix of the full name is accepted too, as IOS does). Prefixes are
/// off for the short type names that Linux interface names also start with (`eth0`, `tun0`).
const TYPES: &[(&str, &[&str], &str, bool)] = &[
    ("gigabitethernet", &["g", "gi", "gig"], "Gi", true),
    ("tengigabitethernet", &["te", "ten"], "Te", true),
    ("twentyfivegige", &["twe"], "Twe", true),
    ("fortygigabitethernet", &["fo"], "Fo", true),
    ("hundredgige", &["hu"], "Hu", true),
    ("fastethernet", &["f", "fa"], "Fa", true),
    ("port-channel", &["po", "port"], "Po", true),
    ("portchannel", &[], "Po", false),
    ("ethernet", &[], "Eth", false),
    ("vlan", &[], "Vlan", false),
    ("loopback", &[], "Lo", false),
    ("tunnel", &["tu"], "Tu", false),
];

/// The longest interface name Tether accepts (Linux IFNAMSIZ - 1, YANG `interface-name`).
pub const MAX_NAME: usize = 15;

/// Normalises one interface name. Names that are not `<type><number>` (ASA `nameif` names
/// such as `Inside`, Linux names such as `veth0` whose type is not a Cisco one) are kept as
/// written.
pub fn normalize(name: &str) -> Result<String, String> {
    let compact: String = name.split_whitespace().collect();
    if compact.is_empty() {
        return Err("no interface name".into());
    }
    let split = compact
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(compact.len());
    let (kind, number) = compact.split_at(split);
    let out = if number.is_empty() || kind.is_empty() {
        compact.clone()
    } else {
        match short_type(kind) {
            Some(short) => format!("{short}{number}"),
            None => compact.clone(),
        }
    };
    check(&out)?;
    Ok(out)
}

fn short_type(kind: &str) -> Option<&'static str> {
    let k = kind.to_ascii_lowercase();
    if let Some((_, _, short, _)) = TYPES
        .iter()
        .find(|(full, forms, _, _)| *full == k || forms.contains(&k.as_str()))
    {
        return Some(short);
    }
    let mut found = TYPES
        .iter()
        .filter(|(full, _, _, prefix)| *prefix && full.starts_with(&k));
    match (found.next(), found.next()) {
        (Some((_, _, short, _)), None) => Some(short),
        // Ambiguous or unknown: keep the name as written.
        _ => None,
    }
}

/// The YANG `interface-name` rules, checked here so a bad name is reported against its line.
fn check(name: &str) -> Result<(), String> {
    if name.len() > MAX_NAME {
        return Err(format!(
            "interface name {name:?} is longer than {MAX_NAME} characters"
        ));
    }
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || "/._:-".contains(c)) {
        return Err(format!(
            "interface name {name:?} has characters Tether does not accept (letters, digits, / . _ : -)"
        ));
    }
    Ok(())
}

/// Expands the argument of `interface range`: comma-separated items, each a name or
/// `name - last` where `last` replaces the name's last number. Hyphens may be ASCII or the en
/// and em dashes word processors put in (`g1/1 – 40`).
pub fn expand_range(text: &str) -> Result<Vec<String>, String> {
    let text = text.replace(['\u{2013}', '\u{2014}', '\u{2212}'], "-");
    let lower = text.to_ascii_lowercase();
    if lower.trim_start().starts_with("macro") {
        return Err("interface range macros cannot be translated".into());
    }
    let mut out = Vec::new();
    for item in text.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err("empty item in the interface range".into());
        }
        // "port-channel" carries a hyphen of its own.
        let (prefix, rest) = match item.to_ascii_lowercase().strip_prefix("port-channel") {
            Some(_) => ("Po", &item["port-channel".len()..]),
            None => ("", item),
        };
        let (first, last) = match rest.split_once('-') {
            Some((a, b)) => (a.trim(), Some(b.trim())),
            None => (rest.trim(), None),
        };
        let first = normalize(&format!("{prefix}{first}"))?;
        match last {
            None => out.push(first),
            Some(last) => {
                let digits = first.bytes().rev().take_while(u8::is_ascii_digit).count();
                if digits == 0 {
                    return Err(format!("{first} does not end in a number to range over"));
                }
                let (stem, start) = first.split_at(first.len() - digits);
                let start: u32 = start
                    .parse()
                    .map_err(|_| format!("{first}: number too large"))?;
                let end: u32 = last
                    .parse()
                    .map_err(|_| format!("the end of the range {last:?} is not a number"))?;
                if end < start {
                    return Err(format!("the range {first} - {end} runs backwards"));
                }
                if end - start >= 4096 {
                    return Err(format!("the range {first} - {end} is too large"));
                }
                for n in start..=end {
                    let name = format!("{stem}{n}");
                    check(&name)?;
                    out.push(name);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn abbreviates_like_ios() {
        let cases = [
            ("g1/1", "Gi1/1"),
            ("gi1/1", "Gi1/1"),
            ("Gi1/1", "Gi1/1"),
            ("GigabitEthernet1/0/1", "Gi1/0/1"),
            ("gigabitEthernet 1/0/1", "Gi1/0/1"),
            ("giga1/2", "Gi1/2"),
            ("po11", "Po11"),
            ("Port-channel11", "Po11"),
            ("port-channel 11", "Po11"),
            ("te1/49", "Te1/49"),
            ("TenGigabitEthernet1/49", "Te1/49"),
            ("fa0/1", "Fa0/1"),
            ("Ethernet1/1", "Eth1/1"),
            ("vlan100", "Vlan100"),
            ("Inside", "Inside"),
            ("MPLS", "MPLS"),
            ("outside", "outside"),
            ("Loopback0", "Lo0"),
            ("tu1", "Tu1"),
            ("veth0", "veth0"),
            ("eth0", "eth0"),
            ("tun0", "tun0"),
            ("ens3", "ens3"),
        ];
        for (typed, want) in cases {
            assert_eq!(normalize(typed).unwrap(), want, "{typed}");
        }
    }

    #[test]
    fn refuses_names_tether_cannot_store() {
        for bad in ["", "-x1", "Gi1/1#", "AVeryLongInterfaceName0"] {
            assert!(normalize(bad).is_err(), "{bad:?}");
        }
        // "t" is ambiguous (TenGigabitEthernet, TwentyFiveGigE): kept as typed.
        assert_eq!(normalize("t1").unwrap(), "t1");
    }

    #[test]
    fn expands_ranges() {
        let gi = |r: std::ops::RangeInclusive<u32>| -> Vec<String> {
            r.map(|i| format!("Gi1/{i}")).collect()
        };
        assert_eq!(expand_range("g1/1 \u{2013} 40").unwrap(), gi(1..=40));
        assert_eq!(expand_range("Gi1/1 - 40").unwrap(), gi(1..=40));
        assert_eq!(expand_range("gi1/1-4").unwrap(), gi(1..=4));
        let mut mixed = gi(1..=2);
        mixed.extend(gi(10..=12));
        mixed.push("Po11".into());
        assert_eq!(
            expand_range("gi1/1 - 2 , gi1/10 - 12, po11").unwrap(),
            mixed
        );
        assert_eq!(
            expand_range("GigabitEthernet 1/0/1 - 2").unwrap(),
            vec!["Gi1/0/1", "Gi1/0/2"]
        );
        assert_eq!(
            expand_range("Port-channel1 - 2").unwrap(),
            vec!["Po1", "Po2"]
        );
    }

    #[test]
    fn refuses_bad_ranges() {
        for bad in [
            "gi1/4 - 1",
            "gi1/1 - x",
            "gi1/1 - ",
            "Inside - 4",
            "gi1/1,,gi1/2",
            "macro servers",
        ] {
            assert!(expand_range(bad).is_err(), "{bad}");
        }
    }
}
