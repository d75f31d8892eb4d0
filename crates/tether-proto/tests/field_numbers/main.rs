//! Wire-contract tests: the compiled descriptor set must match the OpenConfig gNMI 0.10.0
//! specification (openconfig/gnmi `proto/gnmi/gnmi.proto` with `option (gnmi_service) = "0.10.0"`,
//! and `proto/gnmi_ext/gnmi_ext.proto` with commit confirmed and depth) number for number, and the
//! simulator service must keep the numbers other crates and scripts rely on.
//!
//! Every table (the `*.contract` files beside this one) is exhaustive for its package: a field added, removed, renamed or renumbered
//! in `proto/` fails a test.

#![allow(clippy::unwrap_used, clippy::panic)] // tests fail loudly by design

mod contract;
mod descriptors;

use std::collections::BTreeSet;

use prost::Message;
use prost_types::field_descriptor_proto::Type;
use tether_proto::FILE_DESCRIPTOR_SET;

use contract::Contract;
use descriptors::{Descriptors, raw_fields};

const GNMI: &str = include_str!("gnmi.contract");
const GNMI_EXT: &str = include_str!("gnmi_ext.contract");
const SIM: &str = include_str!("sim.contract");

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
    Contract::parse(GNMI).assert_matches(&d, "gnmi");
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
    let contract = Contract::parse(GNMI);
    assert_eq!(found, contract.enum_names(), "enums of package gnmi");
    contract.assert_matches(&d, "gnmi");
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
    Contract::parse(GNMI_EXT).assert_matches(&d, "gnmi_ext");
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
    Contract::parse(SIM).assert_matches(&d, "tether.sim.v1");
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
