//! The replay: history in, what the agent would have announced out, driving the engine
//! exactly as `daemon::alerting` does (a tick's samples, then an evaluation at its second;
//! a start or a resume holds announcements for the grace period).

use super::Setup;
use super::history::{Chunk, Mark};
use super::summary::Summary;
use crate::collect::rate::GAP_FACTOR;
use crate::metrics::{self as m, Sample};
use crate::rules::{Engine, Event};
use crate::units::{millis, secs};

/// A replay under way.
pub struct Replay<'a> {
    setup: &'a Setup,
    engine: Engine,
    /// Unix seconds of the last system tick (the heartbeat's sample) seen.
    last_beat: Option<i64>,
    /// Unix seconds of the last start or resume applied.
    last_mark: Option<i64>,
    /// What was announced, in order.
    events: Vec<Event>,
}

impl<'a> Replay<'a> {
    /// A replay that begins as an agent starting at `since` (unix seconds) would.
    pub fn new(setup: &'a Setup, since: i64) -> Replay<'a> {
        let mut replay = Replay { setup, engine: setup.engine(), last_beat: None, last_mark: None, events: Vec::new() };
        replay.hold(since);
        replay
    }

    /// Replays one chunk, which follows the previous one.
    pub fn feed(&mut self, chunk: &Chunk) {
        let mut marks = chunk.marks.iter().peekable();
        let mut rest = chunk.samples.as_slice();
        while let Some(first) = rest.first() {
            let ts = first.ts;
            let n = rest.iter().position(|s| s.ts != ts).unwrap_or(rest.len());
            let (tick, after) = rest.split_at(n);
            while let Some(&&(_, at, mark)) = marks.peek().filter(|(next, _, _)| *next <= ts) {
                self.mark(at, mark);
                marks.next();
            }
            if tick.iter().any(|s| std::ptr::eq(s.key.metric, &m::UPTIME)) {
                // A system tick: one after a silence no record explains was a resume.
                let bound = GAP_FACTOR * secs(self.setup.interval).max(if ts < chunk.minutes_until { 60 } else { 1 });
                let explained = self.last_mark.is_some_and(|at| self.last_beat.is_none_or(|beat| at > beat));
                if self.last_beat.is_some_and(|beat| ts - beat > bound) && !explained {
                    self.hold(ts);
                }
                self.last_beat = Some(ts);
            }
            self.tick(tick, ts);
            rest = after;
        }
        for &(_, at, mark) in marks {
            self.mark(at, mark);
        }
    }

    /// Ends the replay at `until`: the events and their summary.
    pub fn finish(self, until: i64) -> (Vec<Event>, Summary) {
        let summary = Summary::of(&self.setup.rules, &self.events, until);
        (self.events, summary)
    }

    fn mark(&mut self, at: i64, mark: Mark) {
        if mark == Mark::Start {
            // As the agent's start: the alerts it stored, in a new engine.
            let mut engine = self.setup.engine();
            let gone = engine.restore(self.engine.snapshot(), at * 1000);
            debug_assert!(gone.is_empty(), "the same rules throughout");
            self.engine = engine;
        }
        self.hold(at);
    }

    fn hold(&mut self, at: i64) {
        self.engine.hold(at * 1000, at * 1000 + millis(self.setup.grace));
        self.last_mark = Some(at);
    }

    fn tick(&mut self, samples: &[Sample], ts: i64) {
        self.engine.observe(samples);
        self.events.extend(self.engine.evaluate(ts * 1000).into_iter().filter_map(|c| c.event));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::metrics::SeriesKey;
    use crate::rules::{DEFAULT_RULES, EventKind};

    fn setup() -> Setup {
        let mut rule = DEFAULT_RULES.iter().find(|d| d.name == "cpu").unwrap().rule();
        rule.condition = crate::rules::Condition::Value;
        rule.for_ = Duration::from_secs(10);
        Setup {
            rules: vec![rule],
            cores: 1,
            repeat: None,
            stale: Duration::from_secs(3600),
            grace: Duration::from_secs(5),
            interval: Duration::from_secs(1),
        }
    }

    /// A system tick (heartbeat and CPU) every `step` seconds over `[from, to)`.
    fn ticks(from: i64, to: i64, step: usize, cpu: f64) -> Vec<Sample> {
        let key = SeriesKey::with(&m::CPU_USAGE, "cpu", "total");
        let beat = SeriesKey { metric: &m::UPTIME, labels: Vec::new() };
        (from..to)
            .step_by(step)
            .flat_map(|ts| [Sample { key: beat.clone(), ts, value: 1.0 }, Sample { key: key.clone(), ts, value: cpu }])
            .collect()
    }

    fn fired(setup: &Setup, chunk: &Chunk) -> Vec<(i64, EventKind)> {
        let mut replay = Replay::new(setup, 0);
        replay.feed(chunk);
        replay.finish(10_000).0.iter().map(|e| (e.at_ms / 1000, e.kind)).collect()
    }

    #[test]
    fn a_silence_no_record_explains_is_a_resume_and_a_recorded_start_is_one_too() {
        let setup = setup();
        // Busy from 0 to 8, asleep until 100, busy again: the wait starts over at the wake
        // and the grace holds the first 5 s, so it fires at 110, not at 100.
        let mut samples = ticks(0, 8, 1, 80.0);
        samples.extend(ticks(100, 120, 1, 80.0));
        let chunk = Chunk { samples: samples.clone(), marks: Vec::new(), minutes_until: 0 };
        assert_eq!(fired(&setup, &chunk), vec![(110, EventKind::Fired)]);
        // Without the silence it fires at 10 (the first 5 s were the start's grace).
        let steady = Chunk { samples: ticks(0, 20, 1, 80.0), marks: Vec::new(), minutes_until: 0 };
        assert_eq!(fired(&setup, &steady), vec![(10, EventKind::Fired)]);
        // A recorded start at 50 in steady ticks: a new engine, the pending alert waits again.
        let restarted = Chunk { samples: ticks(0, 80, 1, 80.0), marks: vec![(50, 50, Mark::Start)], minutes_until: 0 };
        let mut slow = setup.clone();
        slow.rules[0].for_ = Duration::from_secs(60);
        assert_eq!(fired(&slow, &restarted), vec![], "pending from 0, then from 50 again: not 60 s yet at 79");
    }

    #[test]
    fn one_minute_means_a_minute_apart_are_not_a_silence() {
        let setup = setup();
        // Minute means from 0 to 1200 (the bound there is 3 minutes, not 3 s): fires at 60.
        let chunk = Chunk { samples: ticks(0, 1200, 60, 80.0), marks: Vec::new(), minutes_until: 1200 };
        assert_eq!(fired(&setup, &chunk), vec![(60, EventKind::Fired)]);
        let raw = Chunk { samples: ticks(0, 1200, 60, 80.0), marks: Vec::new(), minutes_until: 0 };
        assert_eq!(fired(&setup, &raw), vec![], "raw ticks a minute apart are each a resume");
    }
}
