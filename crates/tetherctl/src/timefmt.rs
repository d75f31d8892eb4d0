//! Times and durations the way Cisco prints them (`0:15:00`) and the way logs do (RFC 3339).

use std::time::Duration;

/// Seconds as the ASA writes timeouts and idle times: `H:MM:SS`, hours unbounded
/// (`0:15:00`, `1193:00:00`).
pub fn hms(seconds: u64) -> String {
    format!(
        "{}:{:02}:{:02}",
        seconds / 3600,
        (seconds / 60) % 60,
        seconds % 60
    )
}

/// Parses an ASA timeout `H:MM:SS` (also `H:M:S`, and `MM:SS` is refused: the ASA always
/// takes three fields). Minutes and seconds must be below 60.
pub fn parse_hms(text: &str) -> Result<u64, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let [h, m, s] = parts.as_slice() else {
        return Err(format!("{text:?} is not a time of the form H:MM:SS"));
    };
    let num = |p: &str, what: &str| -> Result<u64, String> {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{text:?}: {what} {p:?} is not a number"));
        }
        p.parse::<u64>()
            .map_err(|_| format!("{text:?}: {what} {p:?} is too large"))
    };
    let (h, m, s) = (num(h, "hours")?, num(m, "minutes")?, num(s, "seconds")?);
    if m >= 60 || s >= 60 {
        return Err(format!("{text:?}: minutes and seconds must be below 60"));
    }
    h.checked_mul(3600)
        .and_then(|v| v.checked_add(m * 60 + s))
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// Nanoseconds since the Unix epoch as RFC 3339 UTC with nanoseconds
/// (`2026-11-25T09:10:00.000000001Z`).
pub use tether_syntax::time::rfc3339;

/// Nanoseconds since the epoch, from the signed timestamp gNMI carries (negative = unknown).
pub fn rfc3339_signed(ns: i64) -> String {
    u64::try_from(ns)
        .map(rfc3339)
        .unwrap_or_else(|_| "-".into())
}

/// Parses a duration like gnmic's `--sample-interval`: one or more `<number><unit>` with units
/// `ns`, `us`, `ms`, `s`, `m`, `h` (`10s`, `500ms`, `1m30s`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?} is not a duration (examples: 10s, 500ms, 1m30s)");
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let d = match unit {
            "ns" => Duration::from_nanos(n),
            "us" | "µs" => Duration::from_micros(n),
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.checked_mul(60).ok_or_else(bad)?),
            "h" => Duration::from_secs(n.checked_mul(3600).ok_or_else(bad)?),
            _ => return Err(bad()),
        };
        total = total.checked_add(d).ok_or_else(bad)?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn hms_round_trips_asa_timeouts() {
        let cases = [
            ("0:15:00", 900),
            ("1:00:00", 3600),
            ("0:0:30", 30),
            ("1193:00:00", 4_294_800),
            ("0:00:01", 1),
        ];
        for (text, secs) in cases {
            assert_eq!(parse_hms(text).unwrap(), secs, "{text}");
        }
        assert_eq!(hms(900), "0:15:00");
        assert_eq!(hms(3661), "1:01:01");
        assert_eq!(hms(4_294_800), "1193:00:00");
        assert_eq!(hms(0), "0:00:00");
    }

    #[test]
    fn refuses_bad_asa_timeouts() {
        for text in [
            "15:00", "0:60:00", "0:00:60", "a:00:00", "0::00", "1:2:3:4", "",
        ] {
            assert!(parse_hms(text).is_err(), "{text}");
        }
    }

    #[test]
    fn prints_rfc3339() {
        assert_eq!(rfc3339_signed(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(rfc3339_signed(-1), "-");
    }

    #[test]
    fn parses_durations() {
        let cases = [
            ("10s", Duration::from_secs(10)),
            ("500ms", Duration::from_millis(500)),
            ("1m30s", Duration::from_secs(90)),
            ("2h", Duration::from_secs(7200)),
            ("100ns", Duration::from_nanos(100)),
        ];
        for (text, d) in cases {
            assert_eq!(parse_duration(text).unwrap(), d, "{text}");
        }
        for text in ["", "10", "s", "10x", "-1s"] {
            assert!(parse_duration(text).is_err(), "{text}");
        }
    }
}
