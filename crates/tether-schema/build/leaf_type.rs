//! Reads what the generator needs from libyang's compiled leaf types: ranges, lengths,
//! patterns, enumeration items and union members. yang3 exposes only the base type, so the
//! restriction details are read from libyang's C structures directly.

use std::ffi::CStr;

use ffi::LY_DATA_TYPE as T;
use libyang3_sys as ffi;
use yang3::schema::SchemaLeafType;

/// A leaf type as the generator sees it.
#[derive(Debug, Clone)]
pub struct TypeInfo {
    /// The typedef the leaf uses, when it is not a built-in type.
    pub typedef: Option<String>,
    pub kind: Kind,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Bool,
    Int {
        bits: u8,
        signed: bool,
        ranges: Vec<(i128, i128)>,
    },
    Str {
        length: Vec<(i128, i128)>,
        /// (XSD regular expression, inverted)
        patterns: Vec<(String, bool)>,
    },
    Enum {
        items: Vec<(String, Option<String>)>,
    },
    Union {
        members: Vec<TypeInfo>,
    },
    Empty,
    /// Carried as its RFC 7951 string form (identityref, bits, binary, decimal64,
    /// instance-identifier).
    Opaque,
}

const BUILTIN: &[&str] = &[
    "binary",
    "bits",
    "boolean",
    "decimal64",
    "empty",
    "enumeration",
    "identityref",
    "instance-identifier",
    "int8",
    "int16",
    "int32",
    "int64",
    "leafref",
    "string",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "union",
];

/// Reads a sized array's element count, stored by libyang just before the first element.
///
/// # Safety
/// `ptr` must be null or the first element of a libyang sized array.
unsafe fn array_count<T>(ptr: *const T) -> usize {
    if ptr.is_null() {
        return 0;
    }
    // SAFETY: libyang's LY_ARRAY stores a uint64_t count immediately before element 0.
    unsafe { *(ptr as *const u64).offset(-1) as usize }
}

fn cstr(p: *const std::os::raw::c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        // SAFETY: libyang strings are NUL-terminated and live as long as the context.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}

/// # Safety
/// `range` must be null or a valid compiled range of a type with the given signedness.
unsafe fn ranges(range: *const ffi::lysc_range, signed: bool) -> Vec<(i128, i128)> {
    if range.is_null() {
        return Vec::new();
    }
    // SAFETY: caller guarantees `range` is valid.
    let parts = unsafe { (*range).parts };
    // SAFETY: `parts` is a libyang sized array.
    let n = unsafe { array_count(parts) };
    (0..n)
        .map(|i| {
            // SAFETY: i < n elements of the array.
            let p = unsafe { &*parts.add(i) };
            // SAFETY: the union member read matches the type's signedness.
            unsafe {
                if signed {
                    (
                        p.__bindgen_anon_1.min_64 as i128,
                        p.__bindgen_anon_2.max_64 as i128,
                    )
                } else {
                    (
                        p.__bindgen_anon_1.min_u64 as i128,
                        p.__bindgen_anon_2.max_u64 as i128,
                    )
                }
            }
        })
        .collect()
}

pub fn inspect(t: &SchemaLeafType<'_>) -> TypeInfo {
    // SAFETY: the pointer comes from a live compiled schema.
    unsafe { inspect_raw(t.as_raw()) }
}

/// # Safety
/// `raw` must point to a valid compiled type of a live context.
unsafe fn inspect_raw(raw: *mut ffi::lysc_type) -> TypeInfo {
    // SAFETY: caller guarantees validity.
    let (name, base) = unsafe { (cstr((*raw).name), (*raw).basetype) };
    let typedef = name.filter(|n| !BUILTIN.contains(&n.as_str()));
    let int = |bits: u8, signed: bool| {
        let r = raw as *mut ffi::lysc_type_num;
        // SAFETY: integer types are lysc_type_num.
        let ranges = unsafe { ranges((*r).range, signed) };
        Kind::Int {
            bits,
            signed,
            ranges,
        }
    };
    let kind = match base {
        T::LY_TYPE_BOOL => Kind::Bool,
        T::LY_TYPE_UINT8 => int(8, false),
        T::LY_TYPE_UINT16 => int(16, false),
        T::LY_TYPE_UINT32 => int(32, false),
        T::LY_TYPE_UINT64 => int(64, false),
        T::LY_TYPE_INT8 => int(8, true),
        T::LY_TYPE_INT16 => int(16, true),
        T::LY_TYPE_INT32 => int(32, true),
        T::LY_TYPE_INT64 => int(64, true),
        T::LY_TYPE_STRING => {
            let s = raw as *mut ffi::lysc_type_str;
            // SAFETY: string types are lysc_type_str; patterns is a sized array of pointers.
            unsafe {
                let length = ranges((*s).length, false);
                let pats = (*s).patterns;
                let patterns = (0..array_count(pats))
                    .map(|i| {
                        let p = *pats.add(i);
                        let inverted = (*p)._bitfield_1.get(0, 1) == 1;
                        (cstr((*p).expr).unwrap_or_default(), inverted)
                    })
                    .collect();
                Kind::Str { length, patterns }
            }
        }
        T::LY_TYPE_ENUM => {
            let e = raw as *mut ffi::lysc_type_enum;
            // SAFETY: enumeration types are lysc_type_enum; enums is a sized array.
            unsafe {
                let items = (*e).enums;
                Kind::Enum {
                    items: (0..array_count(items))
                        .map(|i| {
                            let it = &*items.add(i);
                            (cstr(it.name).unwrap_or_default(), cstr(it.dsc))
                        })
                        .collect(),
                }
            }
        }
        T::LY_TYPE_UNION => {
            let u = raw as *mut ffi::lysc_type_union;
            // SAFETY: union types are lysc_type_union; types is a sized array of pointers.
            unsafe {
                let types = (*u).types;
                Kind::Union {
                    members: (0..array_count(types))
                        .map(|i| inspect_raw(*types.add(i)))
                        .collect(),
                }
            }
        }
        T::LY_TYPE_LEAFREF => {
            let l = raw as *mut ffi::lysc_type_leafref;
            // SAFETY: leafref types are lysc_type_leafref with a resolved realtype.
            let real = unsafe { inspect_raw((*l).realtype) };
            // A leafref takes the target's type and typedef: a key `leafref ../config/id`
            // is the same Rust type as `config/id`.
            return real;
        }
        T::LY_TYPE_EMPTY => Kind::Empty,
        _ => Kind::Opaque,
    };
    TypeInfo { typedef, kind }
}
