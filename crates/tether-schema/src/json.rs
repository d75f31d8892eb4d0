//! RFC 7951 encodings that serde does not do by itself.
//!
//! RFC 7951 §6.1 encodes 64-bit integers as JSON strings (JavaScript cannot hold them), and
//! §6.9 encodes `empty` as `[null]`. These wrappers give the generated structs those
//! encodings while accepting a bare number on input, as lenient clients send it.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! int64 {
    ($name:ident, $t:ty, $what:literal) => {
        #[doc = concat!("A YANG `", $what, "`: a JSON string on the wire (RFC 7951 §6.1).")]
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub $t);

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                #[derive(Deserialize)]
                #[serde(untagged)]
                enum Repr {
                    Num($t),
                    Str(String),
                }
                match Repr::deserialize(d)? {
                    Repr::Num(n) => Ok($name(n)),
                    Repr::Str(s) => s
                        .trim()
                        .parse()
                        .map($name)
                        .map_err(serde::de::Error::custom),
                }
            }
        }

        impl From<$t> for $name {
            fn from(v: $t) -> Self {
                $name(v)
            }
        }

        impl From<$name> for $t {
            fn from(v: $name) -> Self {
                v.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

int64!(U64, u64, "uint64");
int64!(I64, i64, "int64");

/// A YANG `empty` leaf that is present: `[null]` in RFC 7951 JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Empty;

impl Serialize for Empty {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        [()].serialize(s)
    }
}

impl<'de> Deserialize<'de> for Empty {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let _: serde_json::Value = Deserialize::deserialize(d)?;
        Ok(Empty)
    }
}

impl std::fmt::Display for Empty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u64_is_a_string_and_accepts_numbers() {
        assert_eq!(
            serde_json::to_string(&U64(18446744073709551615)).unwrap(),
            "\"18446744073709551615\""
        );
        assert_eq!(serde_json::from_str::<U64>("\"7\"").unwrap(), U64(7));
        assert_eq!(serde_json::from_str::<U64>("7").unwrap(), U64(7));
        assert!(serde_json::from_str::<U64>("\"-1\"").is_err());
        assert_eq!(serde_json::from_str::<I64>("\"-1\"").unwrap(), I64(-1));
    }
}
