//! Cisco-style text for what Get and the simulator return: pure functions from JSON or
//! protobuf messages to the lines an IOS or ASA engineer expects.

pub mod bypass;
pub mod commits;
pub mod conn;
pub mod link_state;
