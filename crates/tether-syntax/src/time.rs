//! Time as Tether stamps it: nanoseconds since the Unix epoch, printed as RFC 3339 UTC
//! (`yang:date-and-time`) with nine fraction digits.
//!
//! Written by hand (days-to-civil, Howard Hinnant's algorithm) so that no crate needs a calendar
//! dependency for the one format it prints.

use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock time in ns since the Unix epoch; 0 if the clock is before the epoch, saturating in
/// the year 2554.
pub fn wall_clock_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// [`wall_clock_ns`] as the signed timestamp gNMI carries.
pub fn wall_clock_ns_i64() -> i64 {
    i64::try_from(wall_clock_ns()).unwrap_or(i64::MAX)
}

/// `2026-11-25T10:00:00.123456789Z`: always nine fraction digits, always UTC.
pub fn rfc3339(ns: u64) -> String {
    let secs = ns / 1_000_000_000;
    let frac = ns % 1_000_000_000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{frac:09}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// (year, month 1..=12, day 1..=31) of `days` since 1970-01-01, proleptic Gregorian.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        let cases = [
            (0, "1970-01-01T00:00:00.000000000Z"),
            (951_782_400_000_000_001, "2000-02-29T00:00:00.000000001Z"),
            (1_795_597_800_000_000_123, "2026-11-25T09:10:00.000000123Z"),
            (1_795_600_800_123_456_789, "2026-11-25T10:00:00.123456789Z"),
            (4_107_542_399_999_999_999, "2100-02-28T23:59:59.999999999Z"),
            (u64::MAX, "2554-07-21T23:34:33.709551615Z"),
        ];
        for (ns, text) in cases {
            assert_eq!(rfc3339(ns), text, "{ns}");
        }
    }

    #[test]
    fn clock_is_after_this_code_was_written() {
        assert!(wall_clock_ns() > 1_795_597_800_000_000_000);
        assert!(wall_clock_ns_i64() > 0);
    }
}
