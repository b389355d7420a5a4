//! Pure functions that turn counter readings into rates and classify the time between ticks.
//!
//! Owns the rules for counter resets, clock jumps and gaps; must not read any clock or file.

use std::collections::HashMap;

use crate::metrics::{Sample, SeriesKey};

/// A gap is recorded when the wall clock moved more than this many intervals between two
/// ticks (a laptop slept, the agent was stopped, the clock was stepped).
pub const GAP_FACTOR: i64 = 3;

/// One reading of a monotonically increasing counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// The counter's value.
    pub value: u64,
    /// Wall-clock time of the reading, in Unix milliseconds.
    pub at_ms: i64,
}

/// The per-second rate between two readings, or `None` when no honest rate exists:
/// the counter went backwards (reset, wrap, device replaced), no time passed or the clock
/// went backwards, or more than `max_elapsed_ms` passed (a gap: averaging over it would
/// hide what happened).
pub fn rate(prev: Reading, cur: Reading, max_elapsed_ms: i64) -> Option<f64> {
    let elapsed_ms = cur.at_ms - prev.at_ms;
    if cur.value < prev.value || elapsed_ms <= 0 || elapsed_ms > max_elapsed_ms {
        return None;
    }
    Some((cur.value - prev.value) as f64 * 1000.0 / elapsed_ms as f64)
}

/// How a tick relates to the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tick {
    /// The first tick: nothing to compare with.
    First,
    /// A tick on schedule.
    Regular,
    /// The wall clock jumped (forwards past the gap bound, or backwards) since the previous
    /// tick at `from_ms`: no rate is computed across it.
    Gap {
        /// The previous tick, Unix ms.
        from_ms: i64,
        /// This tick, Unix ms.
        to_ms: i64,
    },
}

/// Classifies the tick at `now_ms` given the previous tick and the largest regular spacing.
pub fn classify(prev_ms: Option<i64>, now_ms: i64, max_elapsed_ms: i64) -> Tick {
    match prev_ms {
        None => Tick::First,
        Some(prev) if now_ms <= prev || now_ms - prev > max_elapsed_ms => Tick::Gap { from_ms: prev, to_ms: now_ms },
        Some(_) => Tick::Regular,
    }
}

/// What a collector knows about the tick it is sampling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickCtx {
    /// Wall-clock time of this tick, Unix ms.
    pub now_ms: i64,
    /// The largest spacing between two readings that still yields a rate.
    pub max_elapsed_ms: i64,
    /// This tick's relation to the previous one.
    pub tick: Tick,
}

impl TickCtx {
    /// The sample timestamp: whole Unix seconds.
    pub fn ts(&self) -> i64 {
        self.now_ms.div_euclid(1000)
    }

    /// Whether rate-type values computed by someone else (sysinfo) are trustworthy now.
    pub fn rates_valid(&self) -> bool {
        self.tick == Tick::Regular
    }
}

/// The previous reading of each counter-backed series, so a collector can turn this tick's
/// counters into rate samples. Series not seen in a tick are forgotten (a device unplugged).
#[derive(Debug, Default)]
pub struct CounterSet {
    prev: HashMap<SeriesKey, Reading>,
    next: HashMap<SeriesKey, Reading>,
}

impl CounterSet {
    /// Records `value` for `key` and pushes a rate sample if the previous reading allows one.
    pub fn observe(&mut self, ctx: &TickCtx, key: SeriesKey, value: u64, out: &mut Vec<Sample>) {
        let cur = Reading { value, at_ms: ctx.now_ms };
        if let Some(rate) = self.prev.get(&key).and_then(|&p| rate(p, cur, ctx.max_elapsed_ms)) {
            out.push(Sample { key: key.clone(), ts: ctx.ts(), value: rate });
        }
        self.next.insert(key, cur);
    }

    /// Ends a tick: this tick's readings become the previous ones.
    pub fn finish(&mut self) {
        std::mem::swap(&mut self.prev, &mut self.next);
        self.next.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::NET_RX;

    fn r(value: u64, at_ms: i64) -> Reading {
        Reading { value, at_ms }
    }

    #[test]
    fn rate_is_delta_over_elapsed() {
        assert_eq!(rate(r(1000, 0), r(3000, 2000), 5000), Some(1000.0));
        assert_eq!(rate(r(5, 0), r(5, 1000), 5000), Some(0.0));
    }

    #[test]
    fn counter_reset_gives_no_rate_rather_than_a_negative_or_huge_one() {
        assert_eq!(rate(r(u64::MAX - 10, 0), r(20, 1000), 5000), None);
        assert_eq!(rate(r(1_000_000, 0), r(0, 1000), 5000), None);
    }

    #[test]
    fn no_rate_across_a_gap_or_a_backwards_clock() {
        assert_eq!(rate(r(0, 0), r(100, 3_600_000), 5000), None);
        assert_eq!(rate(r(0, 5000), r(100, 4000), 5000), None);
        assert_eq!(rate(r(0, 5000), r(100, 5000), 5000), None);
        assert_eq!(rate(r(0, 0), r(100, 5000), 5000), Some(20.0));
    }

    #[test]
    fn ticks_are_classified_by_wall_clock_spacing() {
        assert_eq!(classify(None, 1000, 3000), Tick::First);
        assert_eq!(classify(Some(0), 1000, 3000), Tick::Regular);
        assert_eq!(classify(Some(0), 3000, 3000), Tick::Regular);
        assert_eq!(classify(Some(0), 3001, 3000), Tick::Gap { from_ms: 0, to_ms: 3001 });
        assert_eq!(classify(Some(9000), 8000, 3000), Tick::Gap { from_ms: 9000, to_ms: 8000 });
    }

    #[test]
    fn counter_set_emits_rates_from_the_second_reading_and_forgets_vanished_series() {
        let key = SeriesKey::with(&NET_RX, "iface", "eth0");
        let mut set = CounterSet::default();
        let mut out = Vec::new();
        let ctx = |now_ms| TickCtx { now_ms, max_elapsed_ms: 3000, tick: Tick::Regular };
        set.observe(&ctx(0), key.clone(), 100, &mut out);
        set.finish();
        assert!(out.is_empty());
        set.observe(&ctx(1000), key.clone(), 600, &mut out);
        set.finish();
        assert_eq!(out, vec![Sample { key: key.clone(), ts: 1, value: 500.0 }]);
        set.finish(); // a tick where eth0 was absent
        set.observe(&ctx(3000), key, 700, &mut out);
        assert_eq!(out.len(), 1, "no rate against a reading from before the device vanished");
    }
}
