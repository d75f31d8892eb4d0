//! Errors inside the Linux dataplane; they surface as `DataplaneError::Backend`.

use tether_dataplane::DataplaneError;

#[derive(Debug, thiserror::Error)]
pub enum LinuxError {
    #[error("cannot run {command}: {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
    #[error("{command} exited with {status:?}: {stderr}")]
    Command {
        command: String,
        status: Option<i32>,
        stderr: String,
    },
    #[error("interface {0:?} does not exist")]
    UnknownInterface(String),
    #[error("netlink: {0}")]
    Netlink(String),
    #[error("cannot parse {what}: {detail}")]
    Parse { what: String, detail: String },
    #[error("network namespace {name:?}: {detail}")]
    Netns { name: String, detail: String },
    #[error("the netlink thread has stopped")]
    Stopped,
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl LinuxError {
    pub fn into_dataplane(self, operation: &str) -> DataplaneError {
        if let LinuxError::UnknownInterface(name) = self {
            return DataplaneError::UnknownInterface(name);
        }
        DataplaneError::Backend {
            operation: operation.to_string(),
            detail: self.to_string(),
        }
    }
}
