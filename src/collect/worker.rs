//! A collector on a thread of its own, so one that hangs (statvfs on a dead network mount, a
//! battery controller that takes seconds to answer, a FIFO where a file should be) holds up
//! only itself: never the agent's runtime thread, never the other collectors.
//!
//! Owns the hand-over between the tick and the thread; must not read the clock: the tick's
//! deadline is passed in.

use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::time::Duration;

use tokio::sync::mpsc::{Receiver, error::TryRecvError};
use tokio::time::Instant;

use super::rate::TickCtx;
use super::{CollectError, Collector};
use crate::metrics::Sample;

/// What one tick of a collector produced.
type Outcome = Result<Vec<Sample>, CollectError>;

/// A collector's thread and its two channels, each holding at most one tick.
pub struct Worker {
    /// The collector's name, for errors and logs.
    name: &'static str,
    /// Ticks to the thread.
    ticks: SyncSender<TickCtx>,
    /// Results from the thread.
    results: Receiver<Outcome>,
    /// A tick was handed over and its result has not been taken yet.
    busy: bool,
}

impl Worker {
    /// Starts `collector`'s thread. The thread ends when the worker is dropped, once its
    /// current tick returns; one that never returns is left behind (the process exit ends it).
    pub fn spawn(mut collector: Box<dyn Collector>) -> Result<Worker, CollectError> {
        let name = collector.name();
        let (ticks, todo) = sync_channel::<TickCtx>(1);
        let (done, results) = tokio::sync::mpsc::channel(1);
        std::thread::Builder::new()
            .name(format!("collect-{name}"))
            .spawn(move || {
                for ctx in todo {
                    let mut out = Vec::new();
                    let outcome = collector.collect(&ctx, &mut out).map(|()| out);
                    if done.blocking_send(outcome).is_err() {
                        return;
                    }
                }
            })
            .map_err(|source| CollectError::Spawn { name, source })?;
        Ok(Worker { name, ticks, results, busy: false })
    }

    /// The collector's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Hands the thread this tick, unless it is still busy with an earlier one: then this
    /// tick is missed at once, without waiting again for a collector already late.
    pub fn start(&mut self, ctx: TickCtx, deadline: Duration) -> Result<(), CollectError> {
        if self.busy {
            match self.results.try_recv() {
                // Too late for its own tick; its samples would land out of order.
                Ok(_) => self.busy = false,
                Err(TryRecvError::Empty) => return Err(CollectError::Late { name: self.name, deadline }),
                Err(TryRecvError::Disconnected) => return Err(CollectError::Stopped { name: self.name }),
            }
        }
        match self.ticks.try_send(ctx) {
            Ok(()) => {
                self.busy = true;
                Ok(())
            }
            // Full cannot happen while not busy; both mean the thread is not taking ticks.
            Err(TrySendError::Disconnected(_) | TrySendError::Full(_)) => {
                Err(CollectError::Stopped { name: self.name })
            }
        }
    }

    /// Waits until `deadline` for the result of the tick handed over by [`Worker::start`].
    /// Cancel-safe: a result not taken here is discarded at the next start.
    pub async fn finish(&mut self, deadline: Instant, allowed: Duration) -> Outcome {
        match tokio::time::timeout_at(deadline, self.results.recv()).await {
            Ok(Some(outcome)) => {
                self.busy = false;
                outcome
            }
            Ok(None) => Err(CollectError::Stopped { name: self.name }),
            Err(_) => Err(CollectError::Late { name: self.name, deadline: allowed }),
        }
    }
}
