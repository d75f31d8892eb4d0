//! Worker errors.

/// Why a worker could not start or answer.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The worker thread could not be spawned.
    #[error("cannot spawn the worker thread: {0}")]
    Spawn(#[source] std::io::Error),
    /// The worker has stopped (its handle is being dropped, or it panicked).
    #[error("the worker has stopped")]
    Stopped,
}
