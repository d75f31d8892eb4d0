//! The record of one YANG module compiled into the binary.

/// A YANG module compiled into the binary: what Capabilities advertises and what libyang
/// loads at start-up, so the daemon needs no files at run time.
#[derive(Debug, Clone, Copy)]
pub struct ModuleSource {
    /// Module name, as in RFC 7951 member names and gNMI `origin`.
    pub name: &'static str,
    /// Latest revision (`YYYY-MM-DD`).
    pub revision: &'static str,
    /// XML namespace.
    pub namespace: &'static str,
    /// Prefix used inside the module.
    pub prefix: &'static str,
    /// The module's `organization` statement.
    pub organization: &'static str,
    /// The module's YANG text.
    pub text: &'static str,
}
