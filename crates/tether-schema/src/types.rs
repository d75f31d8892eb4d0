//! Checks behind the generated newtypes: YANG ranges, lengths and patterns.
//!
//! libyang is the authority on validity; these checks let Rust code build values (the
//! worker's state, `tetherctl import`) that libyang will accept, and make a value that
//! violates its YANG type unrepresentable in the typed datastore.

use thiserror::Error;

/// A value outside its YANG type.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TypeError {
    #[error("{value} is outside the range {allowed} of type {type_name}")]
    Range {
        type_name: &'static str,
        value: String,
        allowed: &'static str,
    },
    #[error("{value:?} has {chars} characters; type {type_name} allows {allowed}")]
    Length {
        type_name: &'static str,
        value: String,
        chars: usize,
        allowed: String,
    },
    #[error("{value:?} does not match the pattern {pattern:?} of type {type_name}")]
    Pattern {
        type_name: &'static str,
        value: String,
        pattern: String,
    },
    #[error("{value:?} is not a value of enumeration {type_name}")]
    Enum {
        type_name: &'static str,
        value: String,
    },
    #[error("{value:?} is not a valid {type_name}")]
    Syntax {
        type_name: &'static str,
        value: String,
    },
}

/// Whether `v` falls in one of the inclusive `ranges`.
pub fn in_ranges(v: i128, ranges: &[(i128, i128)]) -> bool {
    ranges.is_empty() || ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&v))
}

/// Range check used by the generated integer newtypes.
pub fn check_range(
    type_name: &'static str,
    v: i128,
    ranges: &[(i128, i128)],
    allowed: &'static str,
) -> Result<(), TypeError> {
    if in_ranges(v, ranges) {
        Ok(())
    } else {
        Err(TypeError::Range {
            type_name,
            value: v.to_string(),
            allowed,
        })
    }
}

/// Compiles XSD patterns (anchored, as XSD patterns implicitly are). The build script has
/// already checked that every pattern compiles, so none is dropped here in practice.
pub fn compile_patterns(patterns: &[(&str, bool)]) -> Vec<(regex::Regex, bool)> {
    patterns
        .iter()
        .filter_map(|(p, inv)| {
            regex::Regex::new(&format!("^(?:{p})$"))
                .ok()
                .map(|r| (r, *inv))
        })
        .collect()
}

/// Length and pattern check used by the generated string newtypes.
pub fn check_string(
    type_name: &'static str,
    value: &str,
    length: &[(i128, i128)],
    patterns: &[(regex::Regex, bool)],
) -> Result<(), TypeError> {
    let chars = value.chars().count();
    if !in_ranges(chars as i128, length) {
        let allowed = length
            .iter()
            .map(|(a, b)| format!("{a}..{b}"))
            .collect::<Vec<_>>()
            .join(" | ");
        return Err(TypeError::Length {
            type_name,
            value: value.into(),
            chars,
            allowed,
        });
    }
    for (re, inverted) in patterns {
        if re.is_match(value) == *inverted {
            return Err(TypeError::Pattern {
                type_name,
                value: value.into(),
                pattern: re.as_str().to_string(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_inclusive() {
        let r = &[(1, 10), (20, 20)];
        for (v, ok) in [
            (0, false),
            (1, true),
            (10, true),
            (11, false),
            (20, true),
            (21, false),
        ] {
            assert_eq!(in_ranges(v, r), ok, "{v}");
        }
        assert!(in_ranges(123, &[]));
    }

    #[test]
    fn inverted_patterns_reject_matches() {
        let pats = compile_patterns(&[("[a-z]+", false), ("x.*", true)]);
        assert!(check_string("t", "abc", &[], &pats).is_ok());
        assert!(check_string("t", "xabc", &[], &pats).is_err());
        assert!(check_string("t", "ABC", &[], &pats).is_err());
        assert!(check_string("t", "abc", &[(1, 2)], &pats).is_err());
    }
}
