//! The worker's bypass side: the desired program from configuration, installed on the
//! dataplane, with the outcome (and the host conditions that defeat bypass) in state.

use std::time::Instant;

use tether_model::Datastore;
use tether_telemetry::StateBatch;
use tracing::{error, info, info_span, warn};

use super::{compile, state};
use crate::backoff::RetryKey;
use crate::event_loop::Worker;

impl Worker {
    /// Compiles the configuration; a program that does not compile leaves the installed one in
    /// place (traffic keeps flowing as before) and the error is reported in state.
    pub(crate) fn apply_bypass(&mut self, typed: &Datastore) {
        match compile::compile(typed) {
            Ok(program) => {
                self.desired_program = program;
                self.program_error = None;
                if self.installed_program.as_ref() != Some(&self.desired_program) {
                    self.backoff.succeeded(&RetryKey::Program);
                    self.install_program();
                }
            }
            Err(e) => {
                error!(error = %e, "the bypass configuration does not compile; the installed program stays");
                self.program_error = Some(e.to_string());
                self.publish_applied();
            }
        }
    }

    pub(crate) fn install_program(&mut self) {
        let span = info_span!("dataplane.apply", op = "install-bypass");
        let _guard = span.enter();
        match self.dataplane.install_bypass(&self.desired_program) {
            Ok(()) => {
                info!(
                    access_lists = self.desired_program.access_lists.len(),
                    policies = self.desired_program.policies.len(),
                    "bypass program installed"
                );
                self.installed_program = Some(self.desired_program.clone());
                self.program_error = None;
                self.backoff.succeeded(&RetryKey::Program);
            }
            Err(e) => {
                let retry_in = self.backoff.failed(RetryKey::Program, Instant::now());
                error!(error = %e, ?retry_in, "cannot install the bypass program");
                self.program_error = Some(e.to_string());
            }
        }
        self.publish_applied();
    }

    fn publish_applied(&mut self) {
        let mut batch = StateBatch {
            timestamp_ns: crate::time::wall_clock_ns(),
            ..Default::default()
        };
        let program = if self.program_error.is_some()
            && self.installed_program.as_ref() != Some(&self.desired_program)
        {
            // Report the failure on what the configuration asks for.
            self.desired_program.clone()
        } else {
            self.installed_program.clone().unwrap_or_default()
        };
        state::applied(
            &program,
            &self.published_program,
            self.program_error.as_deref(),
            &mut batch,
        );
        self.published_program = program;
        self.state.apply(batch);
    }

    /// Host conditions that defeat bypass, as `bypass/state/warnings` (and a log line when
    /// they change).
    pub(crate) fn publish_warnings(&mut self) {
        let warnings = self.dataplane.warnings();
        if warnings == self.warnings {
            return;
        }
        for w in &warnings {
            warn!("{w}");
        }
        for batch in state::warnings(&warnings) {
            self.send(batch);
        }
        self.warnings = warnings;
    }
}
