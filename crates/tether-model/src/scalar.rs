//! A leaf's value typed by the YANG base type libyang stored it as: what the gNMI PROTO
//! encoding (scalar `TypedValue`s) and the JSON encoding's plain numbers are made from.
//!
//! It lives here because only the schema knows a value's type, and for a union only
//! libyang's stored value tells which member it took (`ffi::value_base_type`).

use yang3::data::DataNodeRef;
use yang3::schema::DataValueType;

use crate::ffi;

/// One leaf (or leaf-list entry) value, by kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// int8, int16, int32, int64.
    Int(i64),
    /// uint8, uint16, uint32, uint64.
    Uint(u64),
    Bool(bool),
    /// decimal64, as its canonical text (exact; a client may want it as a double).
    Decimal(String),
    /// string, enumeration, bits, binary (base64), identityref, instance-identifier: the
    /// canonical text.
    Text(String),
    /// The `empty` type: present.
    Empty,
}

impl Scalar {
    /// The value of a leaf or leaf-list entry; `None` for any other node.
    pub fn of(node: &DataNodeRef<'_>) -> Option<Scalar> {
        let base = base_type(ffi::value_base_type(node)?);
        let canonical = node.value_canonical()?;
        Scalar::from_canonical(base, &canonical)
    }

    /// A canonical value of a leaf whose (non-union) base type is `base`; `None` when the
    /// text is not a value of that base type, or the base type is a union or unknown.
    pub fn from_canonical(base: DataValueType, canonical: &str) -> Option<Scalar> {
        use DataValueType as T;
        Some(match base {
            T::Int8 | T::Int16 | T::Int32 | T::Int64 => Scalar::Int(canonical.parse().ok()?),
            T::Uint8 | T::Uint16 | T::Uint32 | T::Uint64 => Scalar::Uint(canonical.parse().ok()?),
            T::Bool => match canonical {
                "true" => Scalar::Bool(true),
                "false" => Scalar::Bool(false),
                _ => return None,
            },
            T::Dec64 => {
                canonical.parse::<f64>().ok()?;
                Scalar::Decimal(canonical.to_string())
            }
            T::Empty => Scalar::Empty,
            T::String
            | T::Enum
            | T::Bits
            | T::Binary
            | T::IdentityRef
            | T::InstanceId
            | T::LeafRef => Scalar::Text(canonical.to_string()),
            T::Union | T::Unknown => return None,
        })
    }
}

/// The base types a value of leaf type `t` can take, in the order libyang tries them: the
/// type's own, or for a union its members (nested unions flattened); leafrefs resolved.
pub fn value_base_types(t: &yang3::schema::SchemaLeafType<'_>) -> Vec<DataValueType> {
    ffi::value_base_types(t)
        .into_iter()
        .map(base_type)
        .collect()
}

/// libyang's base type number as yang3's enum.
fn base_type(t: u32) -> DataValueType {
    use DataValueType as T;
    use libyang3_sys::LY_DATA_TYPE as L;
    match t {
        L::LY_TYPE_BINARY => T::Binary,
        L::LY_TYPE_UINT8 => T::Uint8,
        L::LY_TYPE_UINT16 => T::Uint16,
        L::LY_TYPE_UINT32 => T::Uint32,
        L::LY_TYPE_UINT64 => T::Uint64,
        L::LY_TYPE_STRING => T::String,
        L::LY_TYPE_BITS => T::Bits,
        L::LY_TYPE_BOOL => T::Bool,
        L::LY_TYPE_DEC64 => T::Dec64,
        L::LY_TYPE_EMPTY => T::Empty,
        L::LY_TYPE_ENUM => T::Enum,
        L::LY_TYPE_IDENT => T::IdentityRef,
        L::LY_TYPE_INST => T::InstanceId,
        L::LY_TYPE_LEAFREF => T::LeafRef,
        L::LY_TYPE_UNION => T::Union,
        L::LY_TYPE_INT8 => T::Int8,
        L::LY_TYPE_INT16 => T::Int16,
        L::LY_TYPE_INT32 => T::Int32,
        L::LY_TYPE_INT64 => T::Int64,
        _ => T::Unknown,
    }
}

/// Whether libyang added this node as a schema default (RFC 7950 §7.6.1) rather than a
/// client setting it.
pub fn is_implicit_default(node: &DataNodeRef<'_>) -> bool {
    ffi::is_implicit_default(node)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Schema, SchemaOptions};
    use yang3::data::{Data, DataTree};

    #[test]
    fn a_union_member_is_the_one_libyang_stored() {
        let schema = Schema::load(SchemaOptions { simulation: true }).unwrap();
        let mut tree = DataTree::new(schema.context());
        let base = "/tether-conntrack-bypass:bypass/access-lists/access-list[name='A']/entries/entry[sequence='10']/config/protocol";
        tree.new_path(base, Some("tcp"), false).unwrap();
        let n = tree.find_path(base).unwrap();
        assert_eq!(Scalar::of(&n), Some(Scalar::Text("tcp".into())));
        tree.new_path(base, Some("47"), true).unwrap();
        let n = tree.find_path(base).unwrap();
        assert_eq!(Scalar::of(&n), Some(Scalar::Uint(47)));
        let s = n.schema();
        let t = s.leaf_type().unwrap();
        assert_eq!(
            value_base_types(&t),
            vec![DataValueType::Enum, DataValueType::Uint8]
        );
    }

    #[test]
    fn canonical_text_by_base_type() {
        use DataValueType as T;
        assert_eq!(
            Scalar::from_canonical(T::Int64, "-5"),
            Some(Scalar::Int(-5))
        );
        assert_eq!(
            Scalar::from_canonical(T::Uint64, "18446744073709551615"),
            Some(Scalar::Uint(u64::MAX))
        );
        assert_eq!(Scalar::from_canonical(T::Uint8, "x"), None);
        assert_eq!(
            Scalar::from_canonical(T::Dec64, "1.50"),
            Some(Scalar::Decimal("1.50".into()))
        );
        assert_eq!(Scalar::from_canonical(T::Bool, "yes"), None);
        assert_eq!(Scalar::from_canonical(T::Union, "1"), None);
    }
}
