//! The agent's rollup schedule: one rollup at start (to move a backlog left while the agent
//! was off), then every `rollup_interval`; sooner again when another process held the
//! archive. Rollups run on a blocking thread so sampling never waits for them.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::wall_ms;
use crate::archive::{self, Outcome, Policy};

/// How soon a deferred rollup (archive held by someone else) is tried again.
const RETRY: Duration = Duration::from_secs(300);

/// The rollup schedule and the rollup in progress, if any.
pub struct Rollups {
    hot: PathBuf,
    archive: PathBuf,
    policy: Arc<Policy>,
    interval: Duration,
    /// When the next rollup starts.
    next: Instant,
    running: Option<JoinHandle<Option<Outcome>>>,
    stop: Arc<AtomicBool>,
}

impl Rollups {
    /// A schedule whose first rollup is due now.
    pub fn new(hot: PathBuf, archive: PathBuf, policy: Policy, interval: Duration) -> Rollups {
        Rollups {
            hot,
            archive,
            policy: Arc::new(policy),
            interval,
            next: Instant::now(),
            running: None,
            stop: Arc::new(AtomicBool::new(false)),
        }
    }

    /// One step of the schedule: waits until a rollup is due and starts it, or waits for
    /// the running one to finish and schedules the next. Cancel-safe: the state lives in
    /// `self`, so the agent loop may drop this future at any await.
    pub async fn step(&mut self) {
        if self.running.is_some() {
            self.finished().await;
        } else {
            tokio::time::sleep_until(self.next).await;
            self.start();
        }
    }

    /// Starts a rollup on a blocking thread.
    fn start(&mut self) {
        let (hot, archive, policy, stop) =
            (self.hot.clone(), self.archive.clone(), self.policy.clone(), self.stop.clone());
        self.running = Some(tokio::task::spawn_blocking(move || {
            let outcome = match archive::rollup_logged(&hot, &archive, wall_ms() / 1000, &policy, &stop) {
                Ok(outcome) => Some(outcome),
                Err(e) => {
                    tracing::error!("rollup failed, the hot store keeps the data: {e}");
                    None
                }
            };
            // DuckDB's code ran: megabytes of pages the agent needs again only next hour.
            super::give_back_code("a rollup");
            outcome
        }));
    }

    /// Waits for the running rollup (forever if none) and schedules the next one.
    async fn finished(&mut self) {
        let Some(task) = self.running.as_mut() else { return std::future::pending().await };
        let outcome = task.await.ok().flatten();
        self.running = None;
        self.next = Instant::now()
            + match outcome {
                Some(Outcome::Deferred(why)) => {
                    tracing::warn!("rollup deferred ({why}); retrying in {}", humantime::format_duration(RETRY));
                    RETRY.min(self.interval)
                }
                Some(Outcome::Moved { samples, watermark }) => {
                    tracing::info!(samples, watermark, "rollup done");
                    self.interval
                }
                Some(Outcome::NothingToMove) | None => self.interval,
            };
    }

    /// Asks a running rollup to stop after its current chunk and waits for it.
    pub async fn shutdown(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(task) = self.running.take() {
            let _ = task.await;
        }
    }
}
