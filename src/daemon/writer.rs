//! The store writer thread: the agent's only long-lived writer of the hot store. Writes
//! sample batches and alert changes in order, and keeps both while the disk is full.

use std::sync::{Arc, mpsc};

use tokio::sync::Notify;

use super::{DaemonError, wall_ms};
use crate::rules::Change;
use crate::server::Live;
use crate::store::{Batch, OutboxRow, Store, StoreError};

/// Samples held in memory while the store cannot be written (a full disk): about two hours
/// of the default collectors. Past it the oldest are dropped, with a warning.
const MAX_PENDING: usize = 100_000;

/// Alert changes and the notices they cause: stored in one transaction.
pub struct AlertRecord {
    /// The alerts' state changes.
    pub changes: Vec<Change>,
    /// One row per channel for the notice, if any.
    pub outbox: Vec<OutboxRow>,
    /// When they happened, Unix ms.
    pub at_ms: i64,
}

/// What the agent loop sends the writer.
pub enum Msg {
    /// Write this batch; `now` is the flush time, unix seconds.
    Write {
        /// The samples and gaps.
        batch: Batch,
        /// Unix seconds.
        now: i64,
    },
    /// Store these alert changes and notices, then wake the channels' outbox loops.
    Alerts(AlertRecord),
    /// The agent is stopping cleanly at `now`.
    Stop {
        /// Unix seconds.
        now: i64,
    },
}

/// What the writer holds that the store has not taken yet.
struct Pending<'a> {
    store: Store,
    retention: i64,
    batch: Batch,
    failing: Option<StoreError>,
    alerts: Vec<AlertRecord>,
    /// Woken when notices were stored.
    wakes: &'a [Arc<Notify>],
    /// Told how each write went, for `/health` and `/metrics`.
    live: &'a Live,
}

impl Pending<'_> {
    /// Writes the held samples; a failure keeps them for the next flush, so a full disk loses
    /// nothing until [`MAX_PENDING`].
    fn write(&mut self, batch: Batch, now: i64) {
        self.batch.samples.extend(batch.samples);
        self.batch.gaps.extend(batch.gaps);
        self.batch.probes.extend(batch.probes);
        if self.batch.samples.len() > MAX_PENDING {
            let excess = self.batch.samples.len() - MAX_PENDING;
            tracing::warn!(dropped = excess, "store unwritable for too long: dropping the oldest samples");
            self.batch.samples.drain(..excess);
        }
        let result = self.store.write(&self.batch, now, now - self.retention);
        let held = if result.is_ok() { 0 } else { self.batch.samples.len() };
        if self.live.wrote(result.is_ok(), self.batch.samples.len(), held, wall_ms()) {
            // Shown on a terminal (see `app::init_logging`): the agent is doing its job.
            tracing::info!(
                target: "hostwatch::milestone",
                "first {} samples written to {}; `hostwatch status` shows them",
                self.batch.samples.len(),
                self.store.path().display()
            );
        }
        match result {
            Ok(()) => {
                if self.failing.take().is_some() {
                    tracing::info!("hot store writable again");
                }
                tracing::info!(samples = self.batch.samples.len(), gaps = self.batch.gaps.len(), "batch written");
                self.batch = Batch::default();
            }
            Err(e) => {
                if self.failing.is_none() {
                    tracing::error!("cannot write the hot store, keeping samples in memory: {e}");
                }
                self.failing = Some(e);
            }
        }
    }

    /// Stores the held alert records oldest first, up to the first the store refuses.
    fn record_alerts(&mut self) {
        let mut stored = 0;
        for r in &self.alerts {
            if let Err(e) = self.store.record_alerts(&r.changes, &r.outbox, r.at_ms) {
                if self.alerts.len() == 1 {
                    tracing::error!("cannot store alert changes, keeping them to retry: {e}");
                }
                break;
            }
            stored += 1;
        }
        if stored > 0 {
            self.alerts.drain(..stored);
            self.wakes.iter().for_each(|w| w.notify_one());
        }
    }
}

/// Writes what the agent loop sends until every sender is gone. Held alert records are
/// retried at every message, held samples at every flush.
pub fn write_loop(
    store: Store,
    rx: &mpsc::Receiver<Msg>,
    retention: i64,
    wakes: &[Arc<Notify>],
    live: &Live,
) -> Result<(), DaemonError> {
    let mut p = Pending { store, retention, batch: Batch::default(), failing: None, alerts: Vec::new(), wakes, live };
    for msg in rx {
        match msg {
            Msg::Write { batch, now } => p.write(batch, now),
            Msg::Alerts(record) => p.alerts.push(record),
            // A stop after failed writes is not clean: report the loss below instead.
            Msg::Stop { now } if p.failing.is_none() => p.store.end_run(now)?,
            Msg::Stop { .. } => {}
        }
        if !p.alerts.is_empty() {
            p.record_alerts();
        }
    }
    if !p.alerts.is_empty() {
        tracing::error!(records = p.alerts.len(), "alert changes could not be stored before exit");
    }
    match p.failing {
        Some(source) => Err(DaemonError::Unwritten { unwritten: p.batch.samples.len(), source }),
        None => Ok(()),
    }
}
