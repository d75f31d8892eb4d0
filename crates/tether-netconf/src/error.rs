//! `<rpc-error>` (RFC 6241 §4.3 and Appendix A): every refusal a client sees, with its
//! error-type, error-tag, severity, app-tag, path and a message capped so that it never
//! echoes a whole input back.

use tether_model::ModelError;
use tether_store::StoreError;

use crate::xml::escape;

/// The longest error-message sent (bytes): messages quote paths and libyang's words, never
/// a whole request.
pub const MESSAGE_CAP: usize = 1024;

/// RFC 6241 error-type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    Transport,
    Rpc,
    Protocol,
    Application,
}

impl ErrorType {
    fn as_str(self) -> &'static str {
        match self {
            ErrorType::Transport => "transport",
            ErrorType::Rpc => "rpc",
            ErrorType::Protocol => "protocol",
            ErrorType::Application => "application",
        }
    }
}

/// One `<rpc-error>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    pub error_type: ErrorType,
    /// RFC 6241 Appendix A tag (`invalid-value`, `lock-denied`, ...).
    pub tag: &'static str,
    pub app_tag: Option<String>,
    /// The data path of the offending node (an XPath in the modules' prefixes).
    pub path: Option<String>,
    pub message: String,
    /// `<error-info>` children, already XML.
    pub info: Option<String>,
}

impl RpcError {
    pub fn new(error_type: ErrorType, tag: &'static str, message: impl Into<String>) -> Self {
        RpcError {
            error_type,
            tag,
            app_tag: None,
            path: None,
            message: message.into(),
            info: None,
        }
    }

    pub fn protocol(tag: &'static str, message: impl Into<String>) -> Self {
        RpcError::new(ErrorType::Protocol, tag, message)
    }

    pub fn application(tag: &'static str, message: impl Into<String>) -> Self {
        RpcError::new(ErrorType::Application, tag, message)
    }

    pub fn malformed(message: impl Into<String>) -> Self {
        RpcError::new(ErrorType::Rpc, "malformed-message", message)
    }

    /// `missing-attribute` with the RFC's error-info.
    pub fn rpc_missing_attribute(attr: &str, element: &str) -> Self {
        let mut e = RpcError::new(
            ErrorType::Rpc,
            "missing-attribute",
            format!("<{element}> needs the attribute {attr}"),
        );
        e.info = Some(format!(
            "<bad-attribute>{attr}</bad-attribute><bad-element>{element}</bad-element>"
        ));
        e
    }

    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// A request the session's user may not make.
    pub fn access_denied(message: impl Into<String>) -> Self {
        RpcError::protocol("access-denied", message)
    }

    /// `lock-denied` naming the holder's session id (RFC 6241 §7.5).
    pub fn lock_denied(holder: u32, message: impl Into<String>) -> Self {
        let mut e = RpcError::protocol("lock-denied", message);
        e.info = Some(format!("<session-id>{holder}</session-id>"));
        e
    }

    /// The `<rpc-error>` element.
    pub fn to_xml(&self) -> String {
        let mut out = format!(
            "<rpc-error><error-type>{}</error-type><error-tag>{}</error-tag><error-severity>error</error-severity>",
            self.error_type.as_str(),
            self.tag
        );
        if let Some(t) = &self.app_tag {
            out.push_str(&format!("<error-app-tag>{}</error-app-tag>", escape(t)));
        }
        if let Some(p) = &self.path {
            out.push_str(&format!(
                "<error-path>{}</error-path>",
                escape(&cap(p, MESSAGE_CAP))
            ));
        }
        out.push_str(&format!(
            "<error-message xml:lang=\"en\">{}</error-message>",
            escape(&cap(&self.message, MESSAGE_CAP))
        ));
        if let Some(i) = &self.info {
            out.push_str(&format!("<error-info>{i}</error-info>"));
        }
        out.push_str("</rpc-error>");
        out
    }
}

/// `s` cut at a character boundary to at most `max` bytes, marked when cut.
pub fn cap(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The errors of a refused edit, one `<rpc-error>` per problem libyang found.
pub fn from_model(e: &ModelError) -> Vec<RpcError> {
    match e {
        ModelError::Invalid(errs) => {
            errs.iter()
                .map(|v| {
                    let tag = if v.message.contains("leafref") || v.message.contains("instance") {
                        "data-missing"
                    } else if v.message.contains("Must condition") || v.message.contains("must") {
                        "operation-failed"
                    } else {
                        "invalid-value"
                    };
                    let mut r = RpcError::application(tag, v.message.clone());
                    r.path = v.path.clone();
                    r.app_tag = v.app_tag.clone().or_else(|| {
                        (tag == "data-missing").then(|| "instance-required".to_string())
                    });
                    r
                })
                .collect()
        }
        ModelError::Path { path, message } => {
            vec![RpcError::application("unknown-element", message.clone()).with_path(path.clone())]
        }
        ModelError::Value { path, message } => {
            vec![RpcError::application("invalid-value", message.clone()).with_path(path.clone())]
        }
        ModelError::NotFound(path) => vec![
            RpcError::application("data-missing", format!("{path} does not exist"))
                .with_path(path.clone()),
        ],
        ModelError::Schema(m) | ModelError::Internal(m) => {
            vec![RpcError::application("operation-failed", m.clone())]
        }
        // RFC 6241 Appendix A: resource-denied, "request could not be completed because of
        // insufficient resources"; the path is the limit leaf the operator can raise.
        ModelError::LimitExceeded { limit, .. } => {
            vec![RpcError::application("resource-denied", e.to_string()).with_path(limit.clone())]
        }
    }
}

/// The errors of a commit the store refused.
pub fn from_store(e: &StoreError) -> Vec<RpcError> {
    match e {
        StoreError::Model(m) => from_model(m),
        StoreError::Confirm(c) => vec![from_confirm(c)],
        other => {
            let tag = if matches!(other, StoreError::NoSpace(_)) {
                "resource-denied"
            } else {
                "operation-failed"
            };
            vec![RpcError::application(tag, other.to_string())]
        }
    }
}

/// A confirmed-commit refusal (RFC 6241 §8.4.4.1, §8.4.5.1 name invalid-value for a
/// persist-id that does not match; a commit held by another session or a pending one that
/// blocks running is the resource-in-use case of Appendix A).
fn from_confirm(e: &tether_store::ConfirmError) -> RpcError {
    use tether_store::ConfirmError as C;
    match e {
        C::NonePending => RpcError::application("operation-failed", e.to_string()),
        C::WrongId { .. } => RpcError::protocol("invalid-value", e.to_string()),
        C::NotOwner { .. } | C::Pending { .. } => RpcError::application("in-use", e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_and_escaped() {
        let long = "<x>".repeat(1000);
        let xml = RpcError::application("invalid-value", long).to_xml();
        assert!(xml.len() < MESSAGE_CAP * 5);
        assert!(!xml.contains("<x>"));
        assert_eq!(cap("ééé", 3), "é…");
    }
}
