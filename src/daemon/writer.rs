//! The store writer thread: writes batches in order and keeps them while the disk is full.

use std::sync::mpsc;

use super::DaemonError;
use crate::store::{Batch, Store, StoreError};

/// Samples held in memory while the store cannot be written (a full disk): about two hours
/// of the default collectors. Past it the oldest are dropped, with a warning.
const MAX_PENDING: usize = 100_000;

/// What the agent loop sends the writer.
pub enum Msg {
    /// Write this batch; `now` is the flush time, unix seconds.
    Write {
        /// The samples and gaps.
        batch: Batch,
        /// Unix seconds.
        now: i64,
    },
    /// The agent is stopping cleanly at `now`.
    Stop {
        /// Unix seconds.
        now: i64,
    },
}

/// Writes each batch; a failed write is kept and retried with the next one, so a full disk
/// loses nothing until [`MAX_PENDING`].
pub fn write_loop(mut store: Store, rx: &mpsc::Receiver<Msg>, retention: i64) -> Result<(), DaemonError> {
    let mut pending = Batch::default();
    let mut failing: Option<StoreError> = None;
    for msg in rx {
        match msg {
            Msg::Write { batch, now } => {
                pending.samples.extend(batch.samples);
                pending.gaps.extend(batch.gaps);
                if pending.samples.len() > MAX_PENDING {
                    let excess = pending.samples.len() - MAX_PENDING;
                    tracing::warn!(dropped = excess, "store unwritable for too long: dropping the oldest samples");
                    pending.samples.drain(..excess);
                }
                match store.write(&pending, now, now - retention) {
                    Ok(()) => {
                        if failing.take().is_some() {
                            tracing::info!("hot store writable again");
                        }
                        pending = Batch::default();
                    }
                    Err(e) => {
                        if failing.is_none() {
                            tracing::error!("cannot write the hot store, keeping samples in memory: {e}");
                        }
                        failing = Some(e);
                    }
                }
            }
            // A stop after failed writes is not clean: report the loss below instead.
            Msg::Stop { now } if failing.is_none() => store.end_run(now)?,
            Msg::Stop { .. } => {}
        }
    }
    match failing {
        Some(source) => Err(DaemonError::Unwritten { unwritten: pending.samples.len(), source }),
        None => Ok(()),
    }
}
