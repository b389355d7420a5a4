//! The history a replay reads, a day at a time: the hot store from the archive's watermark
//! on, the archive's raw rows below it, its one-minute means where raw rows are gone; and
//! the agent's starts and clock jumps the hot store recorded.

use super::{BacktestError, Setup};
use crate::archive::Archive;
use crate::metrics::{self as m, Metric, Sample};
use crate::store::{SeriesValues, Store};

/// One day, in seconds: the most a replay holds in memory at once.
pub const DAY: i64 = 86_400;

/// What happened to the agent at a second, as far as the rules are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mark {
    /// The agent started: a new engine from the stored alerts, then the grace period.
    Start,
    /// The host woke or the clock jumped: the grace period.
    Resume,
}

/// One stretch of history, in time order.
#[derive(Debug, Default)]
pub struct Chunk {
    /// Samples of the watched series, the guards' and the heartbeat's, by time.
    pub samples: Vec<Sample>,
    /// Recorded starts and resumes, by time: (the first second whose tick follows it,
    /// its own second, what it was).
    pub marks: Vec<(i64, i64, Mark)>,
    /// Below this second the samples are one-minute means, a minute apart.
    pub minutes_until: i64,
}

/// How much of the span the history covered, and at what resolution.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Coverage {
    /// Raw samples replayed.
    pub raw: u64,
    /// One-minute means replayed, where raw rows were gone.
    pub minute_means: u64,
    /// Unix seconds `[from, to)` of the stretches that had only one-minute means.
    pub minute_spans: Vec<(i64, i64)>,
    /// Unix seconds of the first and last sample replayed.
    pub range: Option<(i64, i64)>,
}

impl Coverage {
    fn add_minutes(&mut self, from: i64, to: i64) {
        match self.minute_spans.last_mut() {
            Some(last) if last.1 == from => last.1 = to,
            _ => self.minute_spans.push((from, to)),
        }
    }
}

/// Reads chunks from the stores.
pub struct Reader<'a> {
    store: Option<&'a Store>,
    archive: Option<&'a Archive>,
    /// Everything below this is in the archive (none: all in the hot store).
    watermark: i64,
    /// The oldest raw row in the archive; below it only aggregates.
    raw_from: i64,
    /// The rules' metrics, their guards' and the system schedule's heartbeat.
    metrics: Vec<&'static Metric>,
}

impl<'a> Reader<'a> {
    /// A reader of the series `setup`'s rules need.
    pub fn new(store: Option<&'a Store>, archive: Option<&'a Archive>, setup: &Setup) -> Result<Self, BacktestError> {
        let (watermark, raw_from) = match archive {
            Some(a) => {
                let watermark = a.watermark()?;
                (watermark, a.raw_from()?.unwrap_or(watermark).min(watermark))
            }
            None => (i64::MIN, i64::MIN),
        };
        let mut metrics: Vec<&'static Metric> = vec![&m::UPTIME];
        for rule in &setup.rules {
            metrics.push(rule.metric);
            metrics.extend(rule.guard.as_ref().map(|g| g.metric));
        }
        metrics.sort_by_key(|m| m.name);
        metrics.dedup_by_key(|m| m.name);
        Ok(Reader { store, archive, watermark, raw_from, metrics })
    }

    /// The history of `[from, to)`.
    pub fn read(&self, from: i64, to: i64, coverage: &mut Coverage) -> Result<Chunk, BacktestError> {
        let mut series = Vec::new();
        let minutes_until = to.min(self.raw_from).max(from);
        if let Some(a) = self.archive {
            if minutes_until > from {
                let means = a.minute_means_between(&self.metrics, from, minutes_until)?;
                let n: usize = means.iter().map(|s| s.values.len()).sum();
                if n > 0 {
                    coverage.minute_means += n as u64;
                    coverage.add_minutes(from, minutes_until);
                }
                series.extend(means);
            }
            let (lo, hi) = (minutes_until, to.min(self.watermark));
            if hi > lo {
                series.extend(a.series_between(&self.metrics, lo, hi)?);
            }
        }
        let mut marks = Vec::new();
        if let Some(s) = self.store {
            let lo = from.max(self.watermark);
            if to > lo {
                series.extend(s.series_between(&self.metrics, lo, to)?);
            }
            for (at, before) in s.starts_between(from, to)? {
                // Stopped and started again within a second: that second's tick was the old run's.
                let next = if before.is_some_and(|b| b >= at) { at + 1 } else { at };
                marks.push((next, at, Mark::Start));
            }
            let jumps = s.gaps_between(from, to)?.into_iter().filter(|(_, _, why)| why == "clock jump");
            let ends = jumps.map(|(_, end, _)| end).filter(|end| (from..to).contains(end));
            marks.extend(ends.map(|end| (end, end, Mark::Resume)));
        }
        marks.sort_unstable();
        let samples = flatten(series);
        coverage.raw += samples.iter().filter(|s| s.ts >= minutes_until).count() as u64;
        if let (Some(first), Some(last)) = (samples.first(), samples.last()) {
            let (lo, hi) = coverage.range.unwrap_or((first.ts, last.ts));
            coverage.range = Some((lo.min(first.ts), hi.max(last.ts)));
        }
        Ok(Chunk { samples, marks, minutes_until })
    }
}

/// Series' values as samples in time order (stable: within a second, series keep their order).
fn flatten(series: Vec<SeriesValues>) -> Vec<Sample> {
    let mut samples: Vec<Sample> = series
        .into_iter()
        .flat_map(|s| {
            let key = s.key;
            s.times.into_iter().zip(s.values).map(move |(ts, value)| Sample { key: key.clone(), ts, value })
        })
        .collect();
    samples.sort_by_key(|s| s.ts);
    samples
}
