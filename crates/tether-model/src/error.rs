//! Errors of the model layer. Every validation error carries the data path it is about, so a
//! gNMI or NETCONF client is told exactly which node of its request broke which rule.

use thiserror::Error;

/// One problem libyang (or Tether's own pre-checks) found in a data tree or an edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// The data path of the offending node, when known.
    pub path: Option<String>,
    /// What is wrong, in libyang's words.
    pub message: String,
    /// The YANG `error-app-tag` of the failed `must`/`range`/`pattern`, when it has one.
    pub app_tag: Option<String>,
}

impl std::fmt::Display for ValidationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{p}: {}", self.message)?,
            None => f.write_str(&self.message)?,
        }
        if let Some(t) = &self.app_tag {
            write!(f, " [{t}]")?;
        }
        Ok(())
    }
}

/// Errors of the model layer.
#[derive(Debug, Error)]
pub enum ModelError {
    /// The embedded YANG failed to compile (a build defect, never user input).
    #[error("schema: {0}")]
    Schema(String),
    /// The request names a path that is not in the schema, or is malformed.
    #[error("invalid path {path}: {message}")]
    Path { path: String, message: String },
    /// The request's value is not acceptable JSON for the node it targets.
    #[error("invalid value at {path}: {message}")]
    Value { path: String, message: String },
    /// The resulting datastore would break the schema's rules.
    #[error("validation failed: {}", join(.0))]
    Invalid(Vec<ValidationError>),
    /// The transaction would leave more entries than a configured limit allows (gNMI
    /// RESOURCE_EXHAUSTED, NETCONF resource-denied); `path` is the list instance (or, for a
    /// total, the list) that would hold `count` entries.
    #[error("{path}: {count} entries exceed the limit {limit} = {max}")]
    LimitExceeded {
        limit: String,
        max: u64,
        path: String,
        count: u64,
    },
    /// The path names a node that is not there (gNMI NOT_FOUND).
    #[error("{0} does not exist")]
    NotFound(String),
    /// A libyang call failed for a reason other than the input.
    #[error("libyang: {0}")]
    Internal(String),
}

fn join(errs: &[ValidationError]) -> String {
    errs.iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

impl ModelError {
    /// The data path the error is about, for the gNMI error message.
    pub fn path(&self) -> Option<&str> {
        match self {
            ModelError::Path { path, .. }
            | ModelError::Value { path, .. }
            | ModelError::NotFound(path)
            | ModelError::LimitExceeded { path, .. } => Some(path),
            ModelError::Invalid(errs) => errs.iter().find_map(|e| e.path.as_deref()),
            _ => None,
        }
    }

    /// Whether the error is the client's fault (gNMI `InvalidArgument`), not ours.
    pub fn is_user_error(&self) -> bool {
        !matches!(self, ModelError::Schema(_) | ModelError::Internal(_))
    }
}
