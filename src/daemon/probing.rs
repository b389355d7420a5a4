//! Probes inside the agent: each enabled probe on its own schedule, offset from the others
//! by a jitter of its name, at most [`crate::probe::Settings::concurrency`] attempts at once.
//!
//! Attempts are tasks on the agent's runtime thread that only wait on sockets and timers:
//! a target that hangs holds its own task until its timeout, never the sampling tick. Each
//! result comes back to the loop as samples (for the batch and the rules) and a
//! [`ProbeResult`] (for `hostwatch probes`).

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior, interval_at};

use super::wall_ms;
use crate::metrics::Sample;
use crate::probe::{Attempt, Clients, Prober, Settings};
use crate::store::ProbeResult;

/// The longest first offset: probes start within this of the agent, spread out.
const MAX_JITTER: Duration = Duration::from_secs(15);

/// One attempt's outcome, for the loop.
pub struct Done {
    /// Its samples.
    pub samples: Vec<Sample>,
    /// Its row for the store.
    pub result: ProbeResult,
}

/// The running probes.
pub struct Probing {
    rx: mpsc::Receiver<Done>,
    tasks: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

impl Probing {
    /// Starts every enabled probe; `None` if there is none. A probe whose client cannot
    /// be built (its CA file went away since the config was checked) is logged and skipped.
    pub fn start(settings: &Settings) -> Option<Probing> {
        let (tx, rx) = mpsc::channel(64);
        let (stop, stopped) = watch::channel(false);
        let limit = Arc::new(Semaphore::new(settings.concurrency.max(1)));
        let (mut tasks, mut clients) = (Vec::new(), Clients::default());
        for probe in settings.probes.iter().filter(|p| p.enabled) {
            match Prober::new(probe.clone(), &mut clients) {
                Ok(prober) => {
                    let start = Instant::now() + jitter(&probe.name, probe.interval);
                    let (tx, limit, stopped) = (tx.clone(), limit.clone(), stopped.clone());
                    tasks.push(tokio::spawn(schedule(prober, start, limit, tx, stopped)));
                }
                Err(e) => tracing::error!("{e}: this probe does not run"),
            }
        }
        (!tasks.is_empty()).then_some(Probing { rx, tasks, stop })
    }

    /// The next attempt's outcome.
    pub async fn next(&mut self) -> Option<Done> {
        self.rx.recv().await
    }

    /// Stops every probe; an attempt under way is dropped (its socket closed), unrecorded.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            task.abort();
            let _ = task.await;
        }
    }
}

/// Where in its first interval a probe starts: the same place for the same name, so
/// probes stay spread out across restarts.
fn jitter(name: &str, interval: Duration) -> Duration {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    name.hash(&mut h);
    let span = interval.min(MAX_JITTER).as_millis().max(1) as u64;
    Duration::from_millis(h.finish() % span)
}

async fn schedule(
    prober: Prober,
    start: Instant,
    limit: Arc<Semaphore>,
    tx: mpsc::Sender<Done>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut tick = interval_at(start, prober.probe.interval);
    // A late attempt (the host slept) is taken once, not in a burst.
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let name = prober.probe.name.clone();
    let mut was_up = true;
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            _ = tick.tick() => {}
        }
        let Ok(_permit) = limit.acquire().await else { return };
        let attempt = prober.attempt(wall_ms()).await;
        log_change(&name, &attempt, &mut was_up);
        let done = Done { samples: attempt.samples(&name), result: result(&name, &attempt) };
        if tx.send(done).await.is_err() {
            return;
        }
    }
}

/// Logs a probe going down (with why) and coming back, not every failed attempt.
fn log_change(name: &str, attempt: &Attempt, was_up: &mut bool) {
    match (&attempt.failure, *was_up) {
        (Some(f), true) => tracing::warn!(probe = name, reason = f.reason.as_str(), "probe failed: {}", f.detail),
        (None, false) => tracing::info!(probe = name, "probe answers again"),
        _ => {}
    }
    *was_up = attempt.failure.is_none();
}

/// The attempt as the store keeps it.
fn result(name: &str, attempt: &Attempt) -> ProbeResult {
    let (reason, detail) = match &attempt.failure {
        Some(f) => (Some(f.reason.as_str().to_owned()), f.detail.clone()),
        None if attempt.warnings.is_empty() => (None, String::new()),
        None => (None, format!("degraded: {}", attempt.warnings.join("; "))),
    };
    ProbeResult { probe: name.to_owned(), at_ms: attempt.at_ms, reason, detail }
}
