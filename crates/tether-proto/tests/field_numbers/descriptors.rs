//! The compiled descriptor set, decoded, with lookup by full name, and a reader of raw
//! protobuf fields for what prost drops (file option values).

use std::collections::BTreeMap;

use prost::Message;
use prost_types::{
    DescriptorProto, EnumDescriptorProto, FileDescriptorProto, FileDescriptorSet,
    ServiceDescriptorProto, field_descriptor_proto::Type,
};
use tether_proto::FILE_DESCRIPTOR_SET;

/// The decoded descriptor set with lookup by full name.
pub struct Descriptors {
    pub set: FileDescriptorSet,
}

impl Descriptors {
    pub fn load() -> Self {
        let set = FileDescriptorSet::decode(FILE_DESCRIPTOR_SET)
            .expect("FILE_DESCRIPTOR_SET decodes as a FileDescriptorSet");
        Self { set }
    }

    pub fn file(&self, name: &str) -> &FileDescriptorProto {
        self.set
            .file
            .iter()
            .find(|f| f.name() == name)
            .unwrap_or_else(|| panic!("file {name} is in the descriptor set"))
    }

    /// All messages (nested ones included, as `package.Outer.Inner`) with their full names.
    pub fn messages(&self) -> BTreeMap<String, &DescriptorProto> {
        self.messages_where(|_| true)
    }

    /// The messages (nested ones included) of the files of exactly `package`.
    pub fn messages_of_package(&self, package: &str) -> BTreeMap<String, &DescriptorProto> {
        self.messages_where(|f| f.package() == package)
    }

    pub fn messages_where(
        &self,
        keep: impl Fn(&FileDescriptorProto) -> bool,
    ) -> BTreeMap<String, &DescriptorProto> {
        pub fn walk<'a>(
            prefix: &str,
            msgs: &'a [DescriptorProto],
            out: &mut BTreeMap<String, &'a DescriptorProto>,
        ) {
            for m in msgs {
                let name = format!("{prefix}.{}", m.name());
                walk(&name, &m.nested_type, out);
                out.insert(name, m);
            }
        }
        let mut out = BTreeMap::new();
        for f in self.set.file.iter().filter(|f| keep(f)) {
            walk(f.package(), &f.message_type, &mut out);
        }
        out
    }

    /// All enums (nested ones included) with their full names.
    pub fn enums(&self) -> BTreeMap<String, &EnumDescriptorProto> {
        pub fn walk<'a>(
            prefix: &str,
            msgs: &'a [DescriptorProto],
            out: &mut BTreeMap<String, &'a EnumDescriptorProto>,
        ) {
            for m in msgs {
                let name = format!("{prefix}.{}", m.name());
                for e in &m.enum_type {
                    out.insert(format!("{name}.{}", e.name()), e);
                }
                walk(&name, &m.nested_type, out);
            }
        }
        let mut out = BTreeMap::new();
        for f in &self.set.file {
            for e in &f.enum_type {
                out.insert(format!("{}.{}", f.package(), e.name()), e);
            }
            walk(f.package(), &f.message_type, &mut out);
        }
        out
    }

    pub fn message(&self, full_name: &str) -> DescriptorProto {
        self.messages()
            .get(full_name)
            .map(|m| (*m).clone())
            .unwrap_or_else(|| panic!("message {full_name} is in the descriptor set"))
    }

    pub fn service(&self, file: &str, name: &str) -> ServiceDescriptorProto {
        self.file(file)
            .service
            .iter()
            .find(|s| s.name() == name)
            .cloned()
            .unwrap_or_else(|| panic!("service {name} is in {file}"))
    }
}

pub fn type_label(t: Type) -> &'static str {
    match t {
        Type::Double => "double",
        Type::Float => "float",
        Type::Int64 => "int64",
        Type::Uint64 => "uint64",
        Type::Int32 => "int32",
        Type::Fixed64 => "fixed64",
        Type::Fixed32 => "fixed32",
        Type::Bool => "bool",
        Type::String => "string",
        Type::Group => "group",
        Type::Message => "message",
        Type::Bytes => "bytes",
        Type::Uint32 => "uint32",
        Type::Enum => "enum",
        Type::Sfixed32 => "sfixed32",
        Type::Sfixed64 => "sfixed64",
        Type::Sint32 => "sint32",
        Type::Sint64 => "sint64",
    }
}

/// Length-delimited values of field `number` at the top level of a protobuf message encoding.
/// Panics on malformed input; other wire types are skipped.
pub fn raw_fields(mut buf: &[u8], number: u64) -> Vec<Vec<u8>> {
    fn varint(buf: &mut &[u8]) -> u64 {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = buf.split_first().expect("truncated varint");
            *buf = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return value;
            }
        }
        panic!("varint too long");
    }
    let mut out = Vec::new();
    while !buf.is_empty() {
        let key = varint(&mut buf);
        let (field, wire_type) = (key >> 3, key & 7);
        match wire_type {
            0 => {
                varint(&mut buf);
            }
            1 => buf = &buf[8..],
            2 => {
                let len = usize::try_from(varint(&mut buf)).expect("length fits usize");
                let (value, rest) = buf.split_at(len);
                if field == number {
                    out.push(value.to_vec());
                }
                buf = rest;
            }
            5 => buf = &buf[4..],
            other => panic!("unexpected wire type {other}"),
        }
    }
    out
}
