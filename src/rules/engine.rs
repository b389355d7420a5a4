//! The rule engine: samples in, alert changes out, with `now` passed in.
//!
//! Each (rule, series) pair has a [`Track`] once a threshold is crossed: pending until
//! `for` has passed, then firing until the condition is back past the clear threshold for
//! `keep_firing_for`, or its series stops being reported. A severity must hold for `for`
//! to be announced, whether at firing or at escalation. Nothing fires, escalates or
//! resolves during the grace period after a start or a resume from sleep: windows are
//! still filling then and would raise a storm. The phases of one pair are [`super::phase`].

use std::time::Duration;

use rustc_hash::FxHashMap as HashMap;

use super::Rule;
use super::alert::{Change, Event, EventKind, Phase, Track};
use super::phase::{Step, Timers};
use super::window::{Measure, Window};
use crate::metrics::{Sample, SeriesKey};
use crate::units::millis;

/// A track with what the engine needs beside it.
#[derive(Debug, Clone)]
struct Live {
    track: Track,
    timers: Timers,
    /// Unix ms of the last sample of its series (or of its restore).
    seen_ms: i64,
}

/// Turns samples into alert changes.
pub struct Engine {
    /// The rules, in config order.
    rules: Vec<Rule>,
    /// Logical CPUs, for per-core rules.
    cores: usize,
    /// Announce a still-firing alert again this often.
    repeat: Option<Duration>,
    /// A series silent for this long is gone: its alerts resolve.
    stale_ms: i64,
    /// Unix ms before which nothing fires, escalates or resolves.
    grace_until_ms: i64,
    /// Recent samples of every watched or guard series.
    windows: HashMap<SeriesKey, Window>,
    /// For every series seen: the indexes of the rules that select it.
    routes: HashMap<SeriesKey, Vec<usize>>,
    /// Series with new samples since the last evaluation.
    dirty: Vec<SeriesKey>,
    /// Pending and firing alerts, by (rule index, series).
    tracks: HashMap<(usize, SeriesKey), Live>,
    /// Unix ms of the last sweep of silent series' windows.
    swept_ms: i64,
}

/// Series remembered before the route cache is cleared: process series come and go.
const MAX_ROUTES: usize = 10_000;

impl Engine {
    /// An engine for `rules` on a host with `cores` CPU cores; a series not sampled for
    /// `stale` is considered gone.
    pub fn new(rules: Vec<Rule>, cores: usize, repeat: Option<Duration>, stale: Duration) -> Engine {
        Engine {
            rules,
            cores,
            repeat,
            stale_ms: millis(stale),
            grace_until_ms: 0,
            windows: HashMap::default(),
            routes: HashMap::default(),
            dirty: Vec::new(),
            tracks: HashMap::default(),
            swept_ms: 0,
        }
    }

    /// Takes back the pending and firing alerts of an earlier run at `now_ms`. Those of
    /// rules that no longer exist are dropped: a firing one with its resolution.
    pub fn restore(&mut self, tracks: Vec<Track>, now_ms: i64) -> Vec<Change> {
        let mut gone = Vec::new();
        for t in tracks {
            if let Some(i) = self.rules.iter().position(|r| r.name == t.rule) {
                let key = t.key.clone();
                self.tracks.insert((i, key), Live { track: t, timers: Timers::default(), seen_ms: now_ms });
            } else {
                let event =
                    (t.phase == Phase::Firing).then(|| resolution(&t, "its rule was removed from the config", now_ms));
                gone.push(Change { rule: t.rule, key: t.key, track: None, event });
            }
        }
        gone
    }

    /// Holds every announcement until `until_ms` (after a start or a resume at `now_ms`).
    /// Pending alerts wait their `for` again from `now_ms`: what came before is stale.
    pub fn hold(&mut self, now_ms: i64, until_ms: i64) {
        self.grace_until_ms = self.grace_until_ms.max(until_ms);
        for live in self.tracks.values_mut().filter(|l| l.track.phase == Phase::Pending) {
            live.track.since_ms = now_ms;
            live.timers = Timers::default();
        }
    }

    /// How many series have a window.
    #[cfg(test)]
    pub fn watched(&self) -> usize {
        self.windows.len()
    }

    /// The current pending and firing alerts, as the agent has them stored.
    pub fn snapshot(&self) -> Vec<Track> {
        self.tracks.values().map(|l| l.track.clone()).collect()
    }

    /// Adds samples to the windows of the series that rules watch or consult, at their
    /// metric's precision as the store keeps them (so a replay of the store judges the same
    /// numbers); a value that is not a number (a sensor's glitch) is ignored, as the store
    /// ignores it.
    pub fn observe(&mut self, samples: &[Sample]) {
        for s in samples.iter().filter(|s| s.value.is_finite()) {
            if !self.routes.contains_key(&s.key) {
                if self.routes.len() >= MAX_ROUTES {
                    self.routes.clear();
                }
                let selecting: Vec<usize> = (0..self.rules.len()).filter(|&i| self.rules[i].selects(&s.key)).collect();
                let guard = self.rules.iter().any(|r| r.guard.as_ref().is_some_and(|g| g.metric == s.key.metric));
                if !selecting.is_empty() || guard {
                    let window = self.windows.entry(s.key.clone()).or_default();
                    selecting.iter().for_each(|&i| window.need(self.rules[i].condition));
                }
                self.routes.insert(s.key.clone(), selecting);
            }
            if let Some(window) = self.windows.get_mut(&s.key) {
                window.push(s.ts, s.key.metric.rounded(s.value));
                if !self.routes[&s.key].is_empty() {
                    self.dirty.push(s.key.clone());
                }
            }
        }
    }

    /// Evaluates every rule on the series that got samples since the last call, then
    /// resolves the alerts of series that are no longer reported.
    pub fn evaluate(&mut self, now_ms: i64) -> Vec<Change> {
        let mut changes = Vec::new();
        for key in std::mem::take(&mut self.dirty) {
            for i in self.routes.get(&key).cloned().unwrap_or_default() {
                let divisor = self.rules[i].divisor(self.cores);
                let Some(measure) = self.windows.get(&key).and_then(|w| w.measure(self.rules[i].condition, divisor))
                else {
                    continue;
                };
                let applies = self.guard_holds(&self.rules[i], &key);
                changes.extend(self.step(i, &key, &measure, applies, now_ms));
            }
        }
        if now_ms >= self.grace_until_ms {
            let stale: Vec<(usize, SeriesKey)> = self
                .tracks
                .iter()
                .filter(|(_, l)| now_ms - l.seen_ms > self.stale_ms)
                .map(|(id, _)| id.clone())
                .collect();
            for id in stale {
                let live = self.tracks.remove(&id).expect("listed above");
                let event = (live.track.phase == Phase::Firing)
                    .then(|| resolution(&live.track, "its series is no longer reported", now_ms));
                changes.push(Change { rule: self.rules[id.0].name.clone(), key: id.1, track: None, event });
            }
        }
        self.sweep(now_ms);
        changes
    }

    /// Drops the windows of series silent for longer than `stale` (process series come and
    /// go by pid), once per such period: memory follows the series alive, not all ever seen.
    /// Their routes go too, so a series that comes back gets a new window.
    fn sweep(&mut self, now_ms: i64) {
        if (now_ms - self.swept_ms).abs() <= self.stale_ms {
            return;
        }
        self.swept_ms = now_ms;
        let horizon = (now_ms - self.stale_ms).div_euclid(1000);
        let silent: Vec<SeriesKey> = self
            .windows
            .iter()
            .filter(|(_, w)| w.latest().is_none_or(|(ts, _)| ts < horizon))
            .map(|(k, _)| k.clone())
            .collect();
        for key in silent {
            self.windows.remove(&key);
            self.routes.remove(&key);
        }
    }

    fn guard_holds(&self, rule: &Rule, key: &SeriesKey) -> bool {
        let Some(guard) = &rule.guard else { return true };
        let other = SeriesKey { metric: guard.metric, labels: key.labels.clone() };
        self.windows.get(&other).and_then(Window::latest).is_some_and(|(_, v)| (v - guard.equals).abs() < 1e-9)
    }

    /// One (rule, series) pair's step; `None` when nothing worth persisting changed.
    fn step(&mut self, i: usize, key: &SeriesKey, m: &Measure, applies: bool, now: i64) -> Option<Change> {
        let open = now >= self.grace_until_ms;
        let step = Step { rule: &self.rules[i], key, m, applies, now, open, repeat: self.repeat };
        let id = (i, key.clone());
        let next = match self.tracks.remove(&id) {
            Some(Live { track, timers, .. }) => step.advance(track, timers),
            None => step.start(),
        };
        if let Some((track, timers)) = next.live {
            self.tracks.insert(id, Live { track, timers, seen_ms: now });
        }
        next.change
    }
}

/// The resolution of a firing alert that can no longer be evaluated, and why.
fn resolution(t: &Track, reason: &'static str, now_ms: i64) -> Event {
    Event {
        kind: EventKind::Resolved,
        rule: t.rule.clone(),
        condition: String::new(),
        direction: super::Direction::Above,
        series: t.key.clone(),
        severity: t.severity,
        value: t.value,
        threshold: t.threshold,
        started_ms: t.since_ms,
        at_ms: now_ms,
        reason: Some(reason),
    }
}
