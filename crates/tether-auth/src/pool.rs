//! The bounded pool argon2 checks run on.
//!
//! Why: one argon2 check takes the memory its PHC string names (19 MiB at the crate's
//! defaults, 64 MiB or more at stricter ones) for tens of milliseconds. Unbounded, 32
//! concurrent wrong passwords took tetherd from 79 MB to 2 GB. Here at most `workers` checks
//! run at once and at most `queue` more wait; one more is refused at once
//! ([`Busy`]), so memory is bounded by `workers × m` whatever the clients do.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Semaphore;

/// Checks running at once when none is configured: the machines Tether runs on have few
/// cores, and a check is CPU-bound.
pub const DEFAULT_WORKERS: usize = 2;
/// Checks that may wait for a worker when none is configured.
pub const DEFAULT_QUEUE: usize = 16;

/// The pool was full: this many checks were running or waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    pub limit: usize,
}

/// A few blocking jobs at a time, a bounded number waiting.
#[derive(Debug)]
pub struct Pool {
    permits: Arc<Semaphore>,
    /// Jobs admitted and not finished (waiting or running).
    admitted: Arc<AtomicUsize>,
    limit: usize,
}

/// Gives a slot back when the job it admitted ends, however it ends (also when the caller
/// gave up waiting, or after the caller left while the job still ran).
struct Admitted(Arc<AtomicUsize>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Pool {
    pub fn new(workers: usize, queue: usize) -> Pool {
        let workers = workers.max(1);
        Pool {
            permits: Arc::new(Semaphore::new(workers)),
            admitted: Arc::new(AtomicUsize::new(0)),
            limit: workers + queue,
        }
    }

    /// Runs `job` on a blocking thread once a worker is free, or refuses at once when
    /// `workers + queue` jobs are already admitted.
    ///
    /// The worker permit and the admission slot move into the blocking closure, so a caller
    /// that is dropped mid-check does not free its worker before the check really ends:
    /// the bound holds for the memory, not just for the callers.
    pub async fn run<T, F>(&self, job: F) -> Result<T, Busy>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let busy = Busy { limit: self.limit };
        if self.admitted.fetch_add(1, Ordering::AcqRel) >= self.limit {
            self.admitted.fetch_sub(1, Ordering::AcqRel);
            return Err(busy);
        }
        let slot = Admitted(self.admitted.clone());
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| busy)?;
        tokio::task::spawn_blocking(move || {
            let _held = (permit, slot);
            job()
        })
        .await
        .map_err(|_| busy)
    }

    /// Jobs admitted now (waiting or running).
    pub fn admitted(&self) -> usize {
        self.admitted.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn at_most_workers_run_and_the_queue_is_bounded() {
        let pool = Arc::new(Pool::new(2, 3));
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let release_rx = Arc::new(std::sync::Mutex::new(release_rx));
        let mut tasks = Vec::new();
        for _ in 0..5 {
            let (pool, running, peak, rx) = (
                pool.clone(),
                running.clone(),
                peak.clone(),
                release_rx.clone(),
            );
            tasks.push(tokio::spawn(async move {
                pool.run(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    let _ = rx.lock().map(|r| r.recv());
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            }));
        }
        while pool.admitted() < 5 || running.load(Ordering::SeqCst) < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Five admitted (2 running, 3 waiting): the sixth is refused at once.
        assert_eq!(pool.run(|| ()).await, Err(Busy { limit: 5 }));
        for _ in 0..5 {
            release_tx.send(()).unwrap();
        }
        for t in tasks {
            assert!(t.await.unwrap().is_ok());
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
        assert_eq!(pool.admitted(), 0);
    }
}
