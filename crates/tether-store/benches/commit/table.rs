//! Markdown table cells: thousands, milliseconds, percentiles, met/missed, rows.

use std::time::Duration;

/// 10000 → "10,000".
pub(crate) fn th(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "10,000 entries in 100 access-lists of 100".
pub(crate) fn lists(n: usize, acls: usize) -> String {
    if acls == 1 {
        format!("{} entries in 1 access-list", th(n))
    } else {
        format!(
            "{} entries in {acls} access-lists of {}",
            th(n),
            th(n / acls)
        )
    }
}

pub(crate) fn ms(d: Duration) -> String {
    let v = d.as_secs_f64() * 1e3;
    if v < 10.0 {
        format!("{v:.3}")
    } else if v < 1000.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

pub(crate) fn pct(v: &[Duration], p: f64) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    if v.is_empty() {
        return Duration::ZERO;
    }
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

pub(crate) fn met(value: f64, target: f64) -> &'static str {
    if value <= target { "met" } else { "missed" }
}

/// Prints a row: `label` cells, then either the measured cells or the error across them.
pub(crate) fn row(label: &[String], cells: Result<Vec<String>, String>, width: usize) {
    let rest = match cells {
        Ok(c) => c,
        Err(e) => {
            let mut c = vec![format!("**error:** {e}")];
            c.resize(width, "–".into());
            c
        }
    };
    println!("| {} | {} |", label.join(" | "), rest.join(" | "));
}

/// The cells of a row whose Sets failed after the store was set up: the error, dashes, and
/// the check of what the store holds after the failure in the last cell.
pub(crate) fn failed(error: String, width: usize, check: String) -> Vec<String> {
    let mut c = vec![format!("**error:** {error}")];
    c.resize(width - 1, "–".into());
    c.push(format!("after the error: {check}"));
    c
}
