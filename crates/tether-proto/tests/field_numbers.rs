//! Wire-contract tests: the compiled descriptor set must match the OpenConfig gNMI 0.10.0
//! specification (openconfig/gnmi `proto/gnmi/gnmi.proto` with `option (gnmi_service) = "0.10.0"`,
//! and `proto/gnmi_ext/gnmi_ext.proto` with commit confirmed and depth) number for number, and the
//! simulator service must keep the numbers other crates and scripts rely on.
//!
//! Every table below is exhaustive for its message: a field added, removed, renamed or renumbered
//! in `proto/` fails a test.

use std::collections::{BTreeMap, BTreeSet};

use prost::Message;
use prost_types::{
    DescriptorProto, EnumDescriptorProto, FileDescriptorProto, FileDescriptorSet,
    ServiceDescriptorProto, field_descriptor_proto::Label, field_descriptor_proto::Type,
};
use tether_proto::FILE_DESCRIPTOR_SET;

/// (message, field, number, label, type) with type given as the scalar type or the full type name
/// of a message/enum field.
type FieldRow = (&'static str, &'static str, i32, Label, &'static str);

const OPT: Label = Label::Optional;
const REP: Label = Label::Repeated;

/// Every field of every message of package `gnmi`, gNMI 0.10.0.
const GNMI_FIELDS: &[FieldRow] = &[
    ("gnmi.Notification", "timestamp", 1, OPT, "int64"),
    ("gnmi.Notification", "prefix", 2, OPT, ".gnmi.Path"),
    ("gnmi.Notification", "update", 4, REP, ".gnmi.Update"),
    ("gnmi.Notification", "delete", 5, REP, ".gnmi.Path"),
    ("gnmi.Notification", "atomic", 6, OPT, "bool"),
    ("gnmi.Update", "path", 1, OPT, ".gnmi.Path"),
    ("gnmi.Update", "value", 2, OPT, ".gnmi.Value"),
    ("gnmi.Update", "val", 3, OPT, ".gnmi.TypedValue"),
    ("gnmi.Update", "duplicates", 4, OPT, "uint32"),
    ("gnmi.TypedValue", "string_val", 1, OPT, "string"),
    ("gnmi.TypedValue", "int_val", 2, OPT, "int64"),
    ("gnmi.TypedValue", "uint_val", 3, OPT, "uint64"),
    ("gnmi.TypedValue", "bool_val", 4, OPT, "bool"),
    ("gnmi.TypedValue", "bytes_val", 5, OPT, "bytes"),
    ("gnmi.TypedValue", "float_val", 6, OPT, "float"),
    ("gnmi.TypedValue", "double_val", 14, OPT, "double"),
    ("gnmi.TypedValue", "decimal_val", 7, OPT, ".gnmi.Decimal64"),
    (
        "gnmi.TypedValue",
        "leaflist_val",
        8,
        OPT,
        ".gnmi.ScalarArray",
    ),
    ("gnmi.TypedValue", "any_val", 9, OPT, ".google.protobuf.Any"),
    ("gnmi.TypedValue", "json_val", 10, OPT, "bytes"),
    ("gnmi.TypedValue", "json_ietf_val", 11, OPT, "bytes"),
    ("gnmi.TypedValue", "ascii_val", 12, OPT, "string"),
    ("gnmi.TypedValue", "proto_bytes", 13, OPT, "bytes"),
    ("gnmi.Path", "element", 1, REP, "string"),
    ("gnmi.Path", "origin", 2, OPT, "string"),
    ("gnmi.Path", "elem", 3, REP, ".gnmi.PathElem"),
    ("gnmi.Path", "target", 4, OPT, "string"),
    ("gnmi.PathElem", "name", 1, OPT, "string"),
    ("gnmi.PathElem", "key", 2, REP, ".gnmi.PathElem.KeyEntry"),
    ("gnmi.Value", "value", 1, OPT, "bytes"),
    ("gnmi.Value", "type", 2, OPT, ".gnmi.Encoding"),
    ("gnmi.Error", "code", 1, OPT, "uint32"),
    ("gnmi.Error", "message", 2, OPT, "string"),
    ("gnmi.Error", "data", 3, OPT, ".google.protobuf.Any"),
    ("gnmi.Decimal64", "digits", 1, OPT, "int64"),
    ("gnmi.Decimal64", "precision", 2, OPT, "uint32"),
    ("gnmi.ScalarArray", "element", 1, REP, ".gnmi.TypedValue"),
    (
        "gnmi.SubscribeRequest",
        "subscribe",
        1,
        OPT,
        ".gnmi.SubscriptionList",
    ),
    ("gnmi.SubscribeRequest", "poll", 3, OPT, ".gnmi.Poll"),
    (
        "gnmi.SubscribeRequest",
        "extension",
        5,
        REP,
        ".gnmi_ext.Extension",
    ),
    (
        "gnmi.SubscribeResponse",
        "update",
        1,
        OPT,
        ".gnmi.Notification",
    ),
    ("gnmi.SubscribeResponse", "sync_response", 3, OPT, "bool"),
    ("gnmi.SubscribeResponse", "error", 4, OPT, ".gnmi.Error"),
    (
        "gnmi.SubscribeResponse",
        "extension",
        5,
        REP,
        ".gnmi_ext.Extension",
    ),
    ("gnmi.SubscriptionList", "prefix", 1, OPT, ".gnmi.Path"),
    (
        "gnmi.SubscriptionList",
        "subscription",
        2,
        REP,
        ".gnmi.Subscription",
    ),
    ("gnmi.SubscriptionList", "qos", 4, OPT, ".gnmi.QOSMarking"),
    (
        "gnmi.SubscriptionList",
        "mode",
        5,
        OPT,
        ".gnmi.SubscriptionList.Mode",
    ),
    ("gnmi.SubscriptionList", "allow_aggregation", 6, OPT, "bool"),
    (
        "gnmi.SubscriptionList",
        "use_models",
        7,
        REP,
        ".gnmi.ModelData",
    ),
    (
        "gnmi.SubscriptionList",
        "encoding",
        8,
        OPT,
        ".gnmi.Encoding",
    ),
    ("gnmi.SubscriptionList", "updates_only", 9, OPT, "bool"),
    ("gnmi.Subscription", "path", 1, OPT, ".gnmi.Path"),
    (
        "gnmi.Subscription",
        "mode",
        2,
        OPT,
        ".gnmi.SubscriptionMode",
    ),
    ("gnmi.Subscription", "sample_interval", 3, OPT, "uint64"),
    ("gnmi.Subscription", "suppress_redundant", 4, OPT, "bool"),
    ("gnmi.Subscription", "heartbeat_interval", 5, OPT, "uint64"),
    ("gnmi.QOSMarking", "marking", 1, OPT, "uint32"),
    ("gnmi.SetRequest", "prefix", 1, OPT, ".gnmi.Path"),
    ("gnmi.SetRequest", "delete", 2, REP, ".gnmi.Path"),
    ("gnmi.SetRequest", "replace", 3, REP, ".gnmi.Update"),
    ("gnmi.SetRequest", "update", 4, REP, ".gnmi.Update"),
    ("gnmi.SetRequest", "union_replace", 6, REP, ".gnmi.Update"),
    (
        "gnmi.SetRequest",
        "extension",
        5,
        REP,
        ".gnmi_ext.Extension",
    ),
    ("gnmi.SetResponse", "prefix", 1, OPT, ".gnmi.Path"),
    ("gnmi.SetResponse", "response", 2, REP, ".gnmi.UpdateResult"),
    ("gnmi.SetResponse", "message", 3, OPT, ".gnmi.Error"),
    ("gnmi.SetResponse", "timestamp", 4, OPT, "int64"),
    (
        "gnmi.SetResponse",
        "extension",
        5,
        REP,
        ".gnmi_ext.Extension",
    ),
    ("gnmi.UpdateResult", "timestamp", 1, OPT, "int64"),
    ("gnmi.UpdateResult", "path", 2, OPT, ".gnmi.Path"),
    ("gnmi.UpdateResult", "message", 3, OPT, ".gnmi.Error"),
    (
        "gnmi.UpdateResult",
        "op",
        4,
        OPT,
        ".gnmi.UpdateResult.Operation",
    ),
    ("gnmi.GetRequest", "prefix", 1, OPT, ".gnmi.Path"),
    ("gnmi.GetRequest", "path", 2, REP, ".gnmi.Path"),
    (
        "gnmi.GetRequest",
        "type",
        3,
        OPT,
        ".gnmi.GetRequest.DataType",
    ),
    ("gnmi.GetRequest", "encoding", 5, OPT, ".gnmi.Encoding"),
    ("gnmi.GetRequest", "use_models", 6, REP, ".gnmi.ModelData"),
    (
        "gnmi.GetRequest",
        "extension",
        7,
        REP,
        ".gnmi_ext.Extension",
    ),
    (
        "gnmi.GetResponse",
        "notification",
        1,
        REP,
        ".gnmi.Notification",
    ),
    ("gnmi.GetResponse", "error", 2, OPT, ".gnmi.Error"),
    (
        "gnmi.GetResponse",
        "extension",
        3,
        REP,
        ".gnmi_ext.Extension",
    ),
    (
        "gnmi.CapabilityRequest",
        "extension",
        1,
        REP,
        ".gnmi_ext.Extension",
    ),
    (
        "gnmi.CapabilityResponse",
        "supported_models",
        1,
        REP,
        ".gnmi.ModelData",
    ),
    (
        "gnmi.CapabilityResponse",
        "supported_encodings",
        2,
        REP,
        ".gnmi.Encoding",
    ),
    ("gnmi.CapabilityResponse", "gNMI_version", 3, OPT, "string"),
    (
        "gnmi.CapabilityResponse",
        "extension",
        4,
        REP,
        ".gnmi_ext.Extension",
    ),
    ("gnmi.ModelData", "name", 1, OPT, "string"),
    ("gnmi.ModelData", "organization", 2, OPT, "string"),
    ("gnmi.ModelData", "version", 3, OPT, "string"),
];

/// Every message of package `gnmi` (map entries excluded), including those without fields.
const GNMI_MESSAGES: &[&str] = &[
    "gnmi.Notification",
    "gnmi.Update",
    "gnmi.TypedValue",
    "gnmi.Path",
    "gnmi.PathElem",
    "gnmi.Value",
    "gnmi.Error",
    "gnmi.Decimal64",
    "gnmi.ScalarArray",
    "gnmi.SubscribeRequest",
    "gnmi.Poll",
    "gnmi.SubscribeResponse",
    "gnmi.SubscriptionList",
    "gnmi.Subscription",
    "gnmi.QOSMarking",
    "gnmi.SetRequest",
    "gnmi.SetResponse",
    "gnmi.UpdateResult",
    "gnmi.GetRequest",
    "gnmi.GetResponse",
    "gnmi.CapabilityRequest",
    "gnmi.CapabilityResponse",
    "gnmi.ModelData",
];

/// Every enum of package `gnmi` with all its values.
const GNMI_ENUMS: &[(&str, &[(&str, i32)])] = &[
    (
        "gnmi.Encoding",
        &[
            ("JSON", 0),
            ("BYTES", 1),
            ("PROTO", 2),
            ("ASCII", 3),
            ("JSON_IETF", 4),
        ],
    ),
    (
        "gnmi.SubscriptionMode",
        &[("TARGET_DEFINED", 0), ("ON_CHANGE", 1), ("SAMPLE", 2)],
    ),
    (
        "gnmi.SubscriptionList.Mode",
        &[("STREAM", 0), ("ONCE", 1), ("POLL", 2)],
    ),
    (
        "gnmi.UpdateResult.Operation",
        &[
            ("INVALID", 0),
            ("DELETE", 1),
            ("REPLACE", 2),
            ("UPDATE", 3),
            ("UNION_REPLACE", 4),
        ],
    ),
    (
        "gnmi.GetRequest.DataType",
        &[("ALL", 0), ("CONFIG", 1), ("STATE", 2), ("OPERATIONAL", 3)],
    ),
];

/// Every field of every message of package `gnmi_ext`.
const GNMI_EXT_FIELDS: &[FieldRow] = &[
    (
        "gnmi_ext.Extension",
        "registered_ext",
        1,
        OPT,
        ".gnmi_ext.RegisteredExtension",
    ),
    (
        "gnmi_ext.Extension",
        "master_arbitration",
        2,
        OPT,
        ".gnmi_ext.MasterArbitration",
    ),
    ("gnmi_ext.Extension", "history", 3, OPT, ".gnmi_ext.History"),
    ("gnmi_ext.Extension", "commit", 4, OPT, ".gnmi_ext.Commit"),
    ("gnmi_ext.Extension", "depth", 5, OPT, ".gnmi_ext.Depth"),
    (
        "gnmi_ext.RegisteredExtension",
        "id",
        1,
        OPT,
        ".gnmi_ext.ExtensionID",
    ),
    ("gnmi_ext.RegisteredExtension", "msg", 2, OPT, "bytes"),
    (
        "gnmi_ext.MasterArbitration",
        "role",
        1,
        OPT,
        ".gnmi_ext.Role",
    ),
    (
        "gnmi_ext.MasterArbitration",
        "election_id",
        2,
        OPT,
        ".gnmi_ext.Uint128",
    ),
    ("gnmi_ext.Uint128", "high", 1, OPT, "uint64"),
    ("gnmi_ext.Uint128", "low", 2, OPT, "uint64"),
    ("gnmi_ext.Role", "id", 1, OPT, "string"),
    ("gnmi_ext.History", "snapshot_time", 1, OPT, "int64"),
    ("gnmi_ext.History", "range", 2, OPT, ".gnmi_ext.TimeRange"),
    ("gnmi_ext.TimeRange", "start", 1, OPT, "int64"),
    ("gnmi_ext.TimeRange", "end", 2, OPT, "int64"),
    ("gnmi_ext.Commit", "id", 1, OPT, "string"),
    (
        "gnmi_ext.Commit",
        "commit",
        2,
        OPT,
        ".gnmi_ext.CommitRequest",
    ),
    (
        "gnmi_ext.Commit",
        "confirm",
        3,
        OPT,
        ".gnmi_ext.CommitConfirm",
    ),
    (
        "gnmi_ext.Commit",
        "cancel",
        4,
        OPT,
        ".gnmi_ext.CommitCancel",
    ),
    (
        "gnmi_ext.Commit",
        "set_rollback_duration",
        5,
        OPT,
        ".gnmi_ext.CommitSetRollbackDuration",
    ),
    (
        "gnmi_ext.CommitRequest",
        "rollback_duration",
        1,
        OPT,
        ".google.protobuf.Duration",
    ),
    (
        "gnmi_ext.CommitSetRollbackDuration",
        "rollback_duration",
        1,
        OPT,
        ".google.protobuf.Duration",
    ),
    ("gnmi_ext.Depth", "level", 1, OPT, "uint32"),
];

/// Every message of package `gnmi_ext`, including those without fields.
const GNMI_EXT_MESSAGES: &[&str] = &[
    "gnmi_ext.Extension",
    "gnmi_ext.RegisteredExtension",
    "gnmi_ext.MasterArbitration",
    "gnmi_ext.Uint128",
    "gnmi_ext.Role",
    "gnmi_ext.History",
    "gnmi_ext.TimeRange",
    "gnmi_ext.Commit",
    "gnmi_ext.CommitRequest",
    "gnmi_ext.CommitConfirm",
    "gnmi_ext.CommitCancel",
    "gnmi_ext.CommitSetRollbackDuration",
    "gnmi_ext.Depth",
];

/// Every field of every message of package `tether.sim.v1`.
const SIM_FIELDS: &[FieldRow] = &[
    (
        "tether.sim.v1.InjectPacketRequest",
        "ingress_interface",
        1,
        OPT,
        "string",
    ),
    (
        "tether.sim.v1.InjectPacketRequest",
        "source_address",
        2,
        OPT,
        "string",
    ),
    (
        "tether.sim.v1.InjectPacketRequest",
        "destination_address",
        3,
        OPT,
        "string",
    ),
    (
        "tether.sim.v1.InjectPacketRequest",
        "protocol",
        4,
        OPT,
        "uint32",
    ),
    (
        "tether.sim.v1.InjectPacketRequest",
        "source_port",
        5,
        OPT,
        "uint32",
    ),
    (
        "tether.sim.v1.InjectPacketRequest",
        "destination_port",
        6,
        OPT,
        "uint32",
    ),
    (
        "tether.sim.v1.InjectPacketRequest",
        "tcp_flags",
        7,
        OPT,
        ".tether.sim.v1.TcpFlags",
    ),
    (
        "tether.sim.v1.InjectPacketRequest",
        "length",
        8,
        OPT,
        "uint32",
    ),
    ("tether.sim.v1.TcpFlags", "syn", 1, OPT, "bool"),
    ("tether.sim.v1.TcpFlags", "ack", 2, OPT, "bool"),
    ("tether.sim.v1.TcpFlags", "fin", 3, OPT, "bool"),
    ("tether.sim.v1.TcpFlags", "rst", 4, OPT, "bool"),
    ("tether.sim.v1.TcpFlags", "psh", 5, OPT, "bool"),
    ("tether.sim.v1.TcpFlags", "urg", 6, OPT, "bool"),
    (
        "tether.sim.v1.InjectPacketResponse",
        "verdict",
        1,
        OPT,
        ".tether.sim.v1.Verdict",
    ),
    (
        "tether.sim.v1.InjectPacketResponse",
        "reason",
        2,
        OPT,
        "string",
    ),
    (
        "tether.sim.v1.InjectPacketResponse",
        "connection",
        3,
        OPT,
        ".tether.sim.v1.Connection",
    ),
    (
        "tether.sim.v1.InjectPacketResponse",
        "policy",
        4,
        OPT,
        "string",
    ),
    (
        "tether.sim.v1.InjectPacketResponse",
        "class",
        5,
        OPT,
        "string",
    ),
    (
        "tether.sim.v1.ListConnectionsRequest",
        "bypass_only",
        1,
        OPT,
        "bool",
    ),
    (
        "tether.sim.v1.ListConnectionsResponse",
        "connections",
        1,
        REP,
        ".tether.sim.v1.Connection",
    ),
    ("tether.sim.v1.Connection", "protocol", 1, OPT, "uint32"),
    (
        "tether.sim.v1.Connection",
        "source_address",
        2,
        OPT,
        "string",
    ),
    ("tether.sim.v1.Connection", "source_port", 3, OPT, "uint32"),
    (
        "tether.sim.v1.Connection",
        "destination_address",
        4,
        OPT,
        "string",
    ),
    (
        "tether.sim.v1.Connection",
        "destination_port",
        5,
        OPT,
        "uint32",
    ),
    (
        "tether.sim.v1.Connection",
        "ingress_interface",
        6,
        OPT,
        "string",
    ),
    ("tether.sim.v1.Connection", "bypass", 7, OPT, "bool"),
    ("tether.sim.v1.Connection", "state", 8, OPT, "string"),
    ("tether.sim.v1.Connection", "idle_ns", 9, OPT, "uint64"),
    ("tether.sim.v1.Connection", "timeout_ns", 10, OPT, "uint64"),
    ("tether.sim.v1.Connection", "packets", 11, OPT, "uint64"),
    ("tether.sim.v1.Connection", "bytes", 12, OPT, "uint64"),
    ("tether.sim.v1.Connection", "policy", 13, OPT, "string"),
    ("tether.sim.v1.Connection", "class", 14, OPT, "string"),
    ("tether.sim.v1.Connection", "created_ns", 15, OPT, "uint64"),
    (
        "tether.sim.v1.AdvanceClockRequest",
        "nanoseconds",
        1,
        OPT,
        "uint64",
    ),
    (
        "tether.sim.v1.AdvanceClockResponse",
        "now_ns",
        1,
        OPT,
        "uint64",
    ),
    ("tether.sim.v1.GetClockResponse", "now_ns", 1, OPT, "uint64"),
];

/// Every message of package `tether.sim.v1`, including those without fields.
const SIM_MESSAGES: &[&str] = &[
    "tether.sim.v1.InjectPacketRequest",
    "tether.sim.v1.TcpFlags",
    "tether.sim.v1.InjectPacketResponse",
    "tether.sim.v1.ListConnectionsRequest",
    "tether.sim.v1.ListConnectionsResponse",
    "tether.sim.v1.Connection",
    "tether.sim.v1.AdvanceClockRequest",
    "tether.sim.v1.AdvanceClockResponse",
    "tether.sim.v1.GetClockRequest",
    "tether.sim.v1.GetClockResponse",
];

/// The decoded descriptor set with lookup by full name.
struct Descriptors {
    set: FileDescriptorSet,
}

impl Descriptors {
    fn load() -> Self {
        let set = FileDescriptorSet::decode(FILE_DESCRIPTOR_SET)
            .expect("FILE_DESCRIPTOR_SET decodes as a FileDescriptorSet");
        Self { set }
    }

    fn file(&self, name: &str) -> &FileDescriptorProto {
        self.set
            .file
            .iter()
            .find(|f| f.name() == name)
            .unwrap_or_else(|| panic!("file {name} is in the descriptor set"))
    }

    /// All messages (nested ones included, as `package.Outer.Inner`) with their full names.
    fn messages(&self) -> BTreeMap<String, &DescriptorProto> {
        self.messages_where(|_| true)
    }

    /// The messages (nested ones included) of the files of exactly `package`.
    fn messages_of_package(&self, package: &str) -> BTreeMap<String, &DescriptorProto> {
        self.messages_where(|f| f.package() == package)
    }

    fn messages_where(
        &self,
        keep: impl Fn(&FileDescriptorProto) -> bool,
    ) -> BTreeMap<String, &DescriptorProto> {
        fn walk<'a>(
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
    fn enums(&self) -> BTreeMap<String, &EnumDescriptorProto> {
        fn walk<'a>(
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

    fn message(&self, full_name: &str) -> DescriptorProto {
        self.messages()
            .get(full_name)
            .map(|m| (*m).clone())
            .unwrap_or_else(|| panic!("message {full_name} is in the descriptor set"))
    }

    fn service(&self, file: &str, name: &str) -> ServiceDescriptorProto {
        self.file(file)
            .service
            .iter()
            .find(|s| s.name() == name)
            .cloned()
            .unwrap_or_else(|| panic!("service {name} is in {file}"))
    }
}

fn type_label(t: Type) -> &'static str {
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

/// Checks that the messages of `package` are exactly `messages` and that their fields are exactly
/// the rows of `table` (name, number, label, type).
fn assert_package(d: &Descriptors, package: &str, messages: &[&str], table: &[FieldRow]) {
    let found: BTreeSet<String> = d
        .messages_of_package(package)
        .into_iter()
        .filter(|(_, m)| !m.options.as_ref().is_some_and(|o| o.map_entry()))
        .map(|(name, _)| name)
        .collect();
    let expected: BTreeSet<String> = messages.iter().map(|m| (*m).to_owned()).collect();
    assert_eq!(found, expected, "messages of package {package}");

    for msg in messages {
        let desc = d.message(msg);
        let actual: BTreeSet<(String, i32, i32, String)> = desc
            .field
            .iter()
            .map(|f| {
                let ty = match f.r#type() {
                    Type::Message | Type::Enum => f.type_name().to_owned(),
                    other => type_label(other).to_owned(),
                };
                (f.name().to_owned(), f.number(), f.label() as i32, ty)
            })
            .collect();
        let wanted: BTreeSet<(String, i32, i32, String)> = table
            .iter()
            .filter(|row| row.0 == *msg)
            .map(|&(_, name, number, label, ty)| {
                (name.to_owned(), number, label as i32, ty.to_owned())
            })
            .collect();
        assert_eq!(actual, wanted, "fields of {msg}");
    }
    for row in table {
        assert!(
            messages.contains(&row.0),
            "table row {row:?} names a message missing from the message list"
        );
    }
}

fn assert_enum(d: &Descriptors, full_name: &str, values: &[(&str, i32)]) {
    let enums = d.enums();
    let e = enums
        .get(full_name)
        .unwrap_or_else(|| panic!("enum {full_name} is in the descriptor set"));
    let actual: Vec<(&str, i32)> = e.value.iter().map(|v| (v.name(), v.number())).collect();
    assert_eq!(actual, values, "values of enum {full_name}");
}

fn oneof_members(d: &Descriptors, msg: &str, oneof: &str) -> BTreeSet<String> {
    let desc = d.message(msg);
    let index = desc
        .oneof_decl
        .iter()
        .position(|o| o.name() == oneof)
        .unwrap_or_else(|| panic!("{msg} has oneof {oneof}"));
    let index = i32::try_from(index).expect("small index");
    desc.field
        .iter()
        .filter(|f| f.oneof_index == Some(index))
        .map(|f| f.name().to_owned())
        .collect()
}

fn set_of(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn descriptor_set_holds_our_files_and_their_imports() {
    let d = Descriptors::load();
    let names: BTreeSet<&str> = d.set.file.iter().map(|f| f.name()).collect();
    for name in [
        "gnmi/gnmi.proto",
        "gnmi_ext/gnmi_ext.proto",
        "tether/sim/v1/simulator.proto",
        "google/protobuf/any.proto",
        "google/protobuf/descriptor.proto",
        "google/protobuf/duration.proto",
    ] {
        assert!(names.contains(name), "{name} missing from {names:?}");
    }
    assert_eq!(d.file("gnmi/gnmi.proto").package(), "gnmi");
    assert_eq!(d.file("gnmi_ext/gnmi_ext.proto").package(), "gnmi_ext");
    assert_eq!(
        d.file("tether/sim/v1/simulator.proto").package(),
        "tether.sim.v1"
    );
    for name in [
        "gnmi/gnmi.proto",
        "gnmi_ext/gnmi_ext.proto",
        "tether/sim/v1/simulator.proto",
    ] {
        assert_eq!(d.file(name).syntax(), "proto3", "{name} is proto3");
    }
}

#[test]
fn gnmi_messages_and_fields_match_0_10_0() {
    let d = Descriptors::load();
    assert_package(&d, "gnmi", GNMI_MESSAGES, GNMI_FIELDS);
}

#[test]
fn gnmi_enums_match_0_10_0() {
    let d = Descriptors::load();
    let found: BTreeSet<String> = d
        .enums()
        .keys()
        .filter(|k| k.starts_with("gnmi."))
        .cloned()
        .collect();
    let expected: BTreeSet<String> = GNMI_ENUMS.iter().map(|(n, _)| (*n).to_owned()).collect();
    assert_eq!(found, expected, "enums of package gnmi");
    for (name, values) in GNMI_ENUMS {
        assert_enum(&d, name, values);
    }
}

#[test]
fn gnmi_oneofs_match_0_10_0() {
    let d = Descriptors::load();
    assert_eq!(
        oneof_members(&d, "gnmi.TypedValue", "value"),
        set_of(&[
            "string_val",
            "int_val",
            "uint_val",
            "bool_val",
            "bytes_val",
            "float_val",
            "double_val",
            "decimal_val",
            "leaflist_val",
            "any_val",
            "json_val",
            "json_ietf_val",
            "ascii_val",
            "proto_bytes",
        ])
    );
    assert_eq!(
        oneof_members(&d, "gnmi.SubscribeRequest", "request"),
        set_of(&["subscribe", "poll"])
    );
    assert_eq!(
        oneof_members(&d, "gnmi.SubscribeResponse", "response"),
        set_of(&["update", "sync_response", "error"])
    );
    // Each message has exactly the oneofs above and no others.
    for (msg, count) in [
        ("gnmi.TypedValue", 1),
        ("gnmi.SubscribeRequest", 1),
        ("gnmi.SubscribeResponse", 1),
        ("gnmi.SetRequest", 0),
        ("gnmi.Notification", 0),
    ] {
        assert_eq!(d.message(msg).oneof_decl.len(), count, "oneofs of {msg}");
    }
}

#[test]
fn gnmi_reserved_numbers_and_names_match_0_10_0() {
    let d = Descriptors::load();
    for (msg, number, name) in [
        ("gnmi.Notification", 3, "alias"),
        ("gnmi.SubscribeRequest", 4, "aliases"),
        ("gnmi.SubscriptionList", 3, "use_aliases"),
    ] {
        let desc = d.message(msg);
        let ranges: Vec<(i32, i32)> = desc
            .reserved_range
            .iter()
            .map(|r| (r.start(), r.end()))
            .collect();
        // Descriptor ranges are half-open: `reserved 3;` is [3, 4).
        assert_eq!(
            ranges,
            vec![(number, number + 1)],
            "reserved numbers of {msg}"
        );
        assert_eq!(
            desc.reserved_name,
            vec![name.to_owned()],
            "reserved names of {msg}"
        );
    }
}

#[test]
fn gnmi_deprecations_match_0_10_0() {
    let d = Descriptors::load();
    let deprecated_fields = [
        ("gnmi.Update", "value"),
        ("gnmi.TypedValue", "float_val"),
        ("gnmi.TypedValue", "decimal_val"),
        ("gnmi.Path", "element"),
        ("gnmi.SubscribeResponse", "error"),
        ("gnmi.SetResponse", "message"),
        ("gnmi.UpdateResult", "timestamp"),
        ("gnmi.UpdateResult", "message"),
        ("gnmi.GetResponse", "error"),
    ];
    for (msg_name, msg) in d.messages() {
        if !msg_name.starts_with("gnmi.") {
            continue;
        }
        for f in &msg.field {
            let deprecated = f.options.as_ref().is_some_and(|o| o.deprecated());
            let expected = deprecated_fields.contains(&(msg_name.as_str(), f.name()));
            assert_eq!(
                deprecated,
                expected,
                "deprecation of {msg_name}.{}",
                f.name()
            );
        }
        let deprecated = msg.options.as_ref().is_some_and(|o| o.deprecated());
        let expected = ["gnmi.Value", "gnmi.Error", "gnmi.Decimal64"].contains(&msg_name.as_str());
        assert_eq!(deprecated, expected, "deprecation of message {msg_name}");
    }
}

#[test]
fn gnmi_service_file_option_is_declared_and_set_to_0_10_0() {
    let d = Descriptors::load();
    let file = d.file("gnmi/gnmi.proto");
    assert_eq!(file.extension.len(), 1, "gnmi.proto declares one extension");
    let ext = &file.extension[0];
    assert_eq!(ext.name(), "gnmi_service");
    assert_eq!(ext.number(), 1001);
    assert_eq!(ext.extendee(), ".google.protobuf.FileOptions");
    assert_eq!(ext.r#type(), Type::String);

    // prost drops unknown fields, so read the option's value from the raw encoding:
    // FileDescriptorSet.file (1) -> FileDescriptorProto.options (8) -> FileOptions field 1001.
    let files = raw_fields(FILE_DESCRIPTOR_SET, 1);
    let gnmi_file = files
        .iter()
        .find(|f| raw_fields(f, 1).first().map(Vec::as_slice) == Some(b"gnmi/gnmi.proto"))
        .expect("gnmi/gnmi.proto in the raw set");
    let options = raw_fields(gnmi_file, 8);
    assert_eq!(options.len(), 1, "gnmi.proto has one FileOptions");
    assert_eq!(raw_fields(&options[0], 1001), vec![b"0.10.0".to_vec()]);
}

/// Length-delimited values of field `number` at the top level of a protobuf message encoding.
/// Panics on malformed input; other wire types are skipped.
fn raw_fields(mut buf: &[u8], number: u64) -> Vec<Vec<u8>> {
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

#[test]
fn gnmi_service_has_four_rpcs_with_right_streaming() {
    let d = Descriptors::load();
    let svc = d.service("gnmi/gnmi.proto", "gNMI");
    let methods: Vec<(&str, &str, &str, bool, bool)> = svc
        .method
        .iter()
        .map(|m| {
            (
                m.name(),
                m.input_type(),
                m.output_type(),
                m.client_streaming(),
                m.server_streaming(),
            )
        })
        .collect();
    assert_eq!(
        methods,
        vec![
            (
                "Capabilities",
                ".gnmi.CapabilityRequest",
                ".gnmi.CapabilityResponse",
                false,
                false
            ),
            ("Get", ".gnmi.GetRequest", ".gnmi.GetResponse", false, false),
            ("Set", ".gnmi.SetRequest", ".gnmi.SetResponse", false, false),
            (
                "Subscribe",
                ".gnmi.SubscribeRequest",
                ".gnmi.SubscribeResponse",
                true,
                true
            ),
        ]
    );
    assert_eq!(d.file("gnmi/gnmi.proto").service.len(), 1);
}

#[test]
fn gnmi_ext_matches_spec() {
    let d = Descriptors::load();
    assert_package(&d, "gnmi_ext", GNMI_EXT_MESSAGES, GNMI_EXT_FIELDS);
    assert_enum(
        &d,
        "gnmi_ext.ExtensionID",
        &[("EID_UNSET", 0), ("EID_EXPERIMENTAL", 999)],
    );
    assert_eq!(
        oneof_members(&d, "gnmi_ext.Extension", "ext"),
        set_of(&[
            "registered_ext",
            "master_arbitration",
            "history",
            "commit",
            "depth"
        ])
    );
    assert_eq!(
        oneof_members(&d, "gnmi_ext.History", "request"),
        set_of(&["snapshot_time", "range"])
    );
    assert_eq!(
        oneof_members(&d, "gnmi_ext.Commit", "action"),
        set_of(&["commit", "confirm", "cancel", "set_rollback_duration"])
    );
}

#[test]
fn simulator_contract() {
    let d = Descriptors::load();
    assert_package(&d, "tether.sim.v1", SIM_MESSAGES, SIM_FIELDS);
    assert_enum(
        &d,
        "tether.sim.v1.Verdict",
        &[
            ("VERDICT_UNSPECIFIED", 0),
            ("VERDICT_PASS", 1),
            ("VERDICT_DROP", 2),
        ],
    );
    let svc = d.service("tether/sim/v1/simulator.proto", "Simulator");
    let methods: Vec<(&str, &str, &str, bool, bool)> = svc
        .method
        .iter()
        .map(|m| {
            (
                m.name(),
                m.input_type(),
                m.output_type(),
                m.client_streaming(),
                m.server_streaming(),
            )
        })
        .collect();
    assert_eq!(
        methods,
        vec![
            (
                "InjectPacket",
                ".tether.sim.v1.InjectPacketRequest",
                ".tether.sim.v1.InjectPacketResponse",
                false,
                false
            ),
            (
                "ListConnections",
                ".tether.sim.v1.ListConnectionsRequest",
                ".tether.sim.v1.ListConnectionsResponse",
                false,
                false
            ),
            (
                "AdvanceClock",
                ".tether.sim.v1.AdvanceClockRequest",
                ".tether.sim.v1.AdvanceClockResponse",
                false,
                false
            ),
            (
                "GetClock",
                ".tether.sim.v1.GetClockRequest",
                ".tether.sim.v1.GetClockResponse",
                false,
                false
            ),
        ]
    );
}

#[test]
fn generated_types_encode_with_spec_tags() {
    use tether_proto::gnmi::{
        SetRequest, SubscriptionList, TypedValue, Update, subscription_list, typed_value,
    };

    // json_ietf_val is field 11, length-delimited: key = 11 << 3 | 2 = 0x5a.
    let value = TypedValue {
        value: Some(typed_value::Value::JsonIetfVal(b"1".to_vec())),
    };
    assert_eq!(value.encode_to_vec(), vec![0x5a, 1, b'1']);

    // double_val is field 14, fixed64: key = 14 << 3 | 1 = 0x71.
    let value = TypedValue {
        value: Some(typed_value::Value::DoubleVal(1.0)),
    };
    assert_eq!(value.encode_to_vec()[0], 0x71);

    // union_replace is field 6: key = 6 << 3 | 2 = 0x32, one empty Update.
    let set = SetRequest {
        union_replace: vec![Update::default()],
        ..Default::default()
    };
    assert_eq!(set.encode_to_vec(), vec![0x32, 0]);

    // mode is field 5 (varint), updates_only field 9 (varint).
    let list = SubscriptionList {
        mode: subscription_list::Mode::Poll as i32,
        updates_only: true,
        ..Default::default()
    };
    assert_eq!(list.encode_to_vec(), vec![0x28, 2, 0x48, 1]);
}

#[test]
fn public_module_paths_exist() {
    // Compiles only if the generated client/server names are what the other crates use.
    fn _names(
        _: Option<tether_proto::gnmi::g_nmi_client::GNmiClient<tonic::transport::Channel>>,
        _: Option<tether_proto::sim::simulator_client::SimulatorClient<tonic::transport::Channel>>,
    ) {
    }
    fn _server<T: tether_proto::gnmi::g_nmi_server::GNmi>(
        t: T,
    ) -> tether_proto::gnmi::g_nmi_server::GNmiServer<T> {
        tether_proto::gnmi::g_nmi_server::GNmiServer::new(t)
    }
    fn _sim_server<T: tether_proto::sim::simulator_server::Simulator>(
        t: T,
    ) -> tether_proto::tether::sim::v1::simulator_server::SimulatorServer<T> {
        tether_proto::sim::simulator_server::SimulatorServer::new(t)
    }
    assert_eq!(
        tether_proto::gnmi::Encoding::JsonIetf.as_str_name(),
        "JSON_IETF"
    );
    assert_eq!(
        tether_proto::sim::Verdict::Drop.as_str_name(),
        "VERDICT_DROP"
    );
    let _ = tether_proto::gnmi_ext::Extension::default();
}
