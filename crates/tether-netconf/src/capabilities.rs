//! The hello exchange (RFC 6241 §8.1): what Tether advertises and which framing the
//! client's hello selects.

use tether_model::Schema;

use crate::framing::Framing;
use crate::xml::{self, NC, escape};

pub const BASE_10: &str = "urn:ietf:params:netconf:base:1.0";
pub const BASE_11: &str = "urn:ietf:params:netconf:base:1.1";
/// RFC 6241 §8.4: confirmed commit with confirm-timeout, persist, persist-id, cancel-commit.
pub const CONFIRMED_COMMIT: &str = "urn:ietf:params:netconf:capability:confirmed-commit:1.1";

/// Every capability of this server: protocol features and one per YANG module.
pub fn list(schema: &'static Schema) -> Vec<String> {
    let mut caps: Vec<String> = [
        BASE_10,
        BASE_11,
        "urn:ietf:params:netconf:capability:candidate:1.0",
        // edit-config and copy-config take <running/> as the target (RFC 6241 §8.2); clients
        // such as scrapli-netconf only target running when this is advertised.
        "urn:ietf:params:netconf:capability:writable-running:1.0",
        CONFIRMED_COMMIT,
        "urn:ietf:params:netconf:capability:validate:1.1",
        "urn:ietf:params:netconf:capability:validate:1.0",
        "urn:ietf:params:netconf:capability:rollback-on-error:1.0",
        "urn:ietf:params:netconf:capability:xpath:1.0",
        "urn:ietf:params:netconf:capability:with-defaults:1.0?basic-mode=explicit&also-supported=report-all,trim",
        "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring?module=ietf-netconf-monitoring&revision=2010-10-04",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // RFC 6020 §5.6.4: a deviated module names its deviation modules, which are listed too.
    let deviations: Vec<&str> = schema.deviations().iter().map(|d| d.name).collect();
    for m in schema.modules().iter().chain(schema.deviations()) {
        let mut c = format!("{}?module={}&revision={}", m.namespace, m.name, m.revision);
        if !m.features.is_empty() {
            c.push_str(&format!("&features={}", m.features.join(",")));
        }
        if !deviations.is_empty() && !deviations.contains(&m.name) {
            c.push_str(&format!("&deviations={}", deviations.join(",")));
        }
        caps.push(c);
    }
    caps
}

/// The server's `<hello>` with its session id.
pub fn server_hello(schema: &'static Schema, session: u32) -> String {
    let caps: String = list(schema)
        .iter()
        .map(|c| format!("<capability>{}</capability>", escape(c)))
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><hello xmlns=\"{NC}\"><capabilities>{caps}</capabilities><session-id>{session}</session-id></hello>"
    )
}

/// Checks the client's `<hello>`: base 1.1 on both sides selects chunked framing, base 1.0
/// end-of-message; no common base version, a session-id from the client, or anything but a
/// hello ends the session (RFC 6241 §8.1).
pub fn client_hello(msg: &[u8]) -> Result<Framing, String> {
    let text = std::str::from_utf8(msg).map_err(|_| "not UTF-8".to_string())?;
    let doc = xml::parse(text).map_err(|e| e.message)?;
    let hello = doc.root_element();
    if hello.tag_name().name() != "hello" || hello.tag_name().namespace() != Some(NC) {
        return Err("the first message is not a <hello>".into());
    }
    if xml::child(hello, NC, "session-id").is_some() {
        return Err("a client hello must not carry a session-id".into());
    }
    let caps: Vec<String> = xml::child(hello, NC, "capabilities")
        .map(|c| {
            xml::elements(c)
                .filter(|e| e.tag_name().name() == "capability")
                .map(|e| e.text().unwrap_or("").trim().to_string())
                .collect()
        })
        .unwrap_or_default();
    if caps.iter().any(|c| c == BASE_11) {
        Ok(Framing::Chunked)
    } else if caps.iter().any(|c| c == BASE_10) {
        Ok(Framing::EndOfMessage)
    } else {
        Err("the client shares no base capability".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello(caps: &[&str]) -> Vec<u8> {
        let c: String = caps
            .iter()
            .map(|c| format!("<capability>{c}</capability>"))
            .collect();
        format!("<hello xmlns=\"{NC}\"><capabilities>{c}</capabilities></hello>").into_bytes()
    }

    #[test]
    fn framing_from_hello() {
        assert_eq!(
            client_hello(&hello(&[BASE_10, BASE_11])),
            Ok(Framing::Chunked)
        );
        assert_eq!(client_hello(&hello(&[BASE_10])), Ok(Framing::EndOfMessage));
        assert!(client_hello(&hello(&["urn:x"])).is_err());
        assert!(client_hello(b"<rpc/>").is_err());
        assert!(client_hello(b"garbage").is_err());
        let with_id = format!(
            "<hello xmlns=\"{NC}\"><capabilities><capability>{BASE_10}</capability></capabilities><session-id>4</session-id></hello>"
        );
        assert!(client_hello(with_id.as_bytes()).is_err());
    }
}
