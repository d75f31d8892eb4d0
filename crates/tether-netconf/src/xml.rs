//! Small XML helpers: escaping, the NETCONF namespaces, and element lookups on the request
//! DOM (roxmltree; XML with a DTD is refused by it, so no entity expansion happens).

use roxmltree::{Document, Node, ParsingOptions};

use crate::error::RpcError;

/// RFC 6241 base namespace.
pub const NC: &str = "urn:ietf:params:xml:ns:netconf:base:1.0";
/// RFC 6243 with-defaults.
pub const WD: &str = "urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults";
/// RFC 6022 monitoring.
pub const MON: &str = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring";

/// Escapes text for element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Parses one message. Not UTF-8, not well-formed, or with a DTD: `malformed-message`.
///
/// Whitespace before the XML declaration is dropped: in the end-of-message framing many
/// clients (scrapli-netconf among them) send a line break after the previous `]]>]]>` or
/// before their hello, and XML only allows the declaration at the very start of a document.
pub fn parse(text: &str) -> Result<Document<'_>, RpcError> {
    let text = text.trim_start_matches([' ', '\t', '\r', '\n']);
    let opts = ParsingOptions {
        allow_dtd: false,
        nodes_limit: 1_000_000,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(text, opts)
        .map_err(|e| RpcError::malformed(format!("the message is not well-formed XML: {e}")))
}

/// The element children of `n`.
pub fn elements<'a, 'i>(n: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children().filter(Node::is_element)
}

/// The first child element of `n` named `name` in namespace `ns`.
pub fn child<'a, 'i>(n: Node<'a, 'i>, ns: &str, name: &str) -> Option<Node<'a, 'i>> {
    elements(n).find(|c| c.tag_name().name() == name && c.tag_name().namespace() == Some(ns))
}

/// The trimmed text of a child element in the base namespace.
pub fn child_text(n: Node<'_, '_>, name: &str) -> Option<String> {
    child(n, NC, name).map(|c| c.text().unwrap_or("").trim().to_string())
}

/// The single datastore named in `<source>`/`<target>` (`running`, `candidate`, ...).
pub fn datastore(op: Node<'_, '_>, which: &str) -> Result<String, RpcError> {
    let holder = child(op, NC, which).ok_or_else(|| {
        RpcError::protocol("missing-element", format!("<{which}> is required"))
            .with_path(format!("/rpc/{}/{which}", op.tag_name().name()))
    })?;
    let inner = elements(holder).next().ok_or_else(|| {
        RpcError::protocol("missing-element", format!("<{which}> names no datastore"))
    })?;
    Ok(inner.tag_name().name().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_refuses_dtd() {
        assert_eq!(escape("<a&'\">"), "&lt;a&amp;&apos;&quot;&gt;");
        let bomb = "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><x>&a;</x>";
        assert_eq!(parse(bomb).unwrap_err().tag, "malformed-message");
        assert!(parse("<x><y></x>").is_err());
        assert!(parse("<x/>").is_ok());
    }

    #[test]
    fn whitespace_before_the_declaration_is_not_an_error() {
        let doc = parse("\n  <?xml version=\"1.0\"?>\n<hello xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\"/>")
            .expect("parses");
        assert_eq!(doc.root_element().tag_name().name(), "hello");
    }

    #[test]
    fn text_before_the_declaration_is_still_malformed() {
        assert!(parse("x<?xml version=\"1.0\"?><hello/>").is_err());
    }
}
