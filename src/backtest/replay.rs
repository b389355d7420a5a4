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
