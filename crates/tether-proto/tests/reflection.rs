//! The encoded descriptor set is what `tonic-reflection` needs to serve our services.

use tether_proto::FILE_DESCRIPTOR_SET;

#[test]
fn reflection_service_accepts_the_descriptor_set() {
    let built = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .with_service_name("gnmi.gNMI")
        .with_service_name("tether.sim.v1.Simulator")
        .build_v1();
    assert!(built.is_ok(), "reflection builder rejected the set");
}
