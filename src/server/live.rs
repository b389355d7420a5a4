//! What the agent knows right now, shared with the server without touching a store: the
//! newest value of every series, when the last tick ran, how the writer is doing. The
//! agent loop and the writer thread update it; `/health`, `/metrics` and the dashboard's
//! live values read it.
//!
//! Every lock here is held for a map insert or a copy, never across I/O, so the sampling
//! tick never waits on a reader.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::metrics::{Sample, SeriesKey, TICKS_SKIPPED};

/// The newest value of one series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Newest {
    /// Unix seconds of the sample.
    pub ts: i64,
    /// Its value.
    pub value: f64,
}

/// The agent's state as the server sees it.
#[derive(Debug, Default)]
pub struct Live {
    /// Newest value per series.
    newest: Mutex<HashMap<SeriesKey, Newest>>,
    /// Wall-clock ms of the agent's start.
    started_ms: AtomicI64,
    /// Wall-clock ms of the last system tick (0 before the first).
    last_tick_ms: AtomicI64,
    /// Ticks dropped since the start, every schedule together.
    ticks_skipped: AtomicU64,
    /// Wall-clock ms of the writer's last successful write (0 before the first).
    last_write_ms: AtomicI64,
    /// Samples the writer has stored since the start.
    samples_written: AtomicU64,
    /// Writes the store refused since the start.
    write_errors: AtomicU64,
    /// Whether the writer's latest write failed.
    failing: AtomicBool,
    /// Samples the writer holds that the store has not taken.
    pending: AtomicU64,
}

impl Live {
    /// A fresh state for an agent started at `now_ms`.
    pub fn new(now_ms: i64) -> Live {
        let live = Live::default();
        live.started_ms.store(now_ms, Ordering::Relaxed);
        live
    }

    /// Takes a tick's samples; `system` says whether it was the system schedule's tick
    /// (whose age `/health` judges).
    pub fn observe(&self, samples: &[Sample], now_ms: i64, system: bool) {
        if system {
            self.last_tick_ms.store(now_ms, Ordering::Relaxed);
        }
        let mut newest = self.newest.lock().unwrap_or_else(PoisonError::into_inner);
        for s in samples {
            if *s.key.metric == TICKS_SKIPPED {
                self.ticks_skipped.fetch_add(s.value as u64, Ordering::Relaxed);
            }
            newest.insert(s.key.clone(), Newest { ts: s.ts, value: s.value });
        }
    }

    /// Forgets series with no sample since `ts`: processes that ended or left the top list,
    /// statements that left a database's busiest, a collector error or a skipped tick that
    /// was a moment's (those are sent only when they happen). The map holds what is alive.
    pub fn forget_before(&self, ts: i64) {
        self.newest.lock().unwrap_or_else(PoisonError::into_inner).retain(|_, n| n.ts >= ts);
    }

    /// The writer's report of one write attempt of `samples` samples at `now_ms`, and
    /// what it still holds after it; true for the first write that stored any sample.
    pub fn wrote(&self, ok: bool, samples: usize, pending: usize, now_ms: i64) -> bool {
        let mut first = false;
        if ok {
            self.last_write_ms.store(now_ms, Ordering::Relaxed);
            first = self.samples_written.fetch_add(samples as u64, Ordering::Relaxed) == 0 && samples > 0;
        } else {
            self.write_errors.fetch_add(1, Ordering::Relaxed);
        }
        self.failing.store(!ok, Ordering::Relaxed);
        self.pending.store(pending as u64, Ordering::Relaxed);
        first
    }

    /// A copy of the newest values, sorted by series.
    pub fn newest(&self) -> Vec<(SeriesKey, Newest)> {
        let mut all: Vec<(SeriesKey, Newest)> =
            self.newest.lock().unwrap_or_else(PoisonError::into_inner).iter().map(|(k, v)| (k.clone(), *v)).collect();
        all.sort_by(|a, b| (a.0.metric.name, &a.0.labels).cmp(&(b.0.metric.name, &b.0.labels)));
        all
    }

    /// The counters and times, copied.
    pub fn snapshot(&self) -> Snapshot {
        let get = |a: &AtomicI64| a.load(Ordering::Relaxed);
        Snapshot {
            started_ms: get(&self.started_ms),
            last_tick_ms: get(&self.last_tick_ms),
            last_write_ms: get(&self.last_write_ms),
            ticks_skipped: self.ticks_skipped.load(Ordering::Relaxed),
            samples_written: self.samples_written.load(Ordering::Relaxed),
            write_errors: self.write_errors.load(Ordering::Relaxed),
            failing: self.failing.load(Ordering::Relaxed),
            pending: self.pending.load(Ordering::Relaxed),
        }
    }
}

/// [`Live`]'s counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    /// Wall-clock ms of the agent's start.
    pub started_ms: i64,
    /// Wall-clock ms of the last system tick (0 before the first).
    pub last_tick_ms: i64,
    /// Wall-clock ms of the last successful write (0 before the first).
    pub last_write_ms: i64,
    /// Ticks dropped since the start.
    pub ticks_skipped: u64,
    /// Samples stored since the start.
    pub samples_written: u64,
    /// Writes refused since the start.
    pub write_errors: u64,
    /// Whether the latest write failed.
    pub failing: bool,
    /// Samples held in memory, not yet stored.
    pub pending: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{CPU_USAGE, PROC_RSS};

    #[test]
    fn the_newest_value_wins_and_series_that_went_quiet_are_forgotten() {
        let live = Live::new(0);
        let cpu = SeriesKey::with(&CPU_USAGE, "cpu", "total");
        let proc = SeriesKey::with(&PROC_RSS, "pid", "42");
        live.observe(&[Sample { key: cpu.clone(), ts: 10, value: 5.0 }], 10_000, true);
        live.observe(&[Sample { key: proc, ts: 10, value: 1.0 }], 10_000, false);
        live.observe(&[Sample { key: cpu.clone(), ts: 11, value: 7.5 }], 11_000, true);
        live.forget_before(11);
        assert_eq!(live.newest(), vec![(cpu, Newest { ts: 11, value: 7.5 })]);
        assert_eq!(live.snapshot().last_tick_ms, 11_000);
    }

    #[test]
    fn the_writer_report_counts_samples_and_failures() {
        let live = Live::new(0);
        assert!(!live.wrote(true, 0, 0, 500), "an empty write stores nothing to speak of");
        assert!(live.wrote(true, 40, 0, 1_000), "the first samples stored");
        assert!(!live.wrote(false, 40, 40, 2_000));
        let s = live.snapshot();
        assert_eq!(
            (s.samples_written, s.write_errors, s.failing, s.pending, s.last_write_ms),
            (40, 1, true, 40, 1_000)
        );
        assert!(!live.wrote(true, 80, 0, 3_000), "only the first write is the first");
        assert!(!live.snapshot().failing);
    }
}
