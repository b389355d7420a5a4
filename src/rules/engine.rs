//! The rule engine: samples in, alert changes out, with `now` passed in.
//!
//! Each (rule, series) pair has a [`Track`] once a threshold is crossed: pending until
//! `for` has passed, then firing until the condition is back past the clear threshold for
//! `keep_firing_for`. Nothing fires, escalates or resolves during the grace period after a
//! start or a resume from sleep: windows are still filling then and would raise a storm.

use std::time::Duration;

use rustc_hash::FxHashMap as HashMap;

use super::window::{Measure, Window};
use super::{Rule, Severity};
use crate::metrics::{Sample, SeriesKey};

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// A threshold is crossed; waiting for `for` (or the grace period) to pass.
    Pending,
    /// Announced and not yet resolved.
    Firing,
}

/// The state of one (rule, series) pair, as persisted in the hot store.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// Rule name.
    pub rule: String,
    /// The series, as `metric{label="value"}`.
    pub series: String,
    /// Pending or firing.
    pub phase: Phase,
    /// The severity reached (pending: the one that would fire).
    pub severity: Severity,
    /// Unix ms: when it became pending, or when it fired.
    pub since_ms: i64,
    /// The condition's value at the last change.
    pub value: f64,
    /// The threshold crossed.
    pub threshold: f64,
    /// Unix ms of the last announcement (fired, escalated, repeated); 0 if none.
    pub notified_ms: i64,
}

/// What happened to an alert, as announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Started firing.
    Fired,
    /// Went from warning to critical.
    Escalated,
    /// Still firing, announced again after the repeat interval.
    Repeated,
    /// Back to normal.
    Resolved,
}

impl EventKind {
    /// The word used in the store and payloads.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Fired => "fired",
            EventKind::Escalated => "escalated",
            EventKind::Repeated => "repeated",
            EventKind::Resolved => "resolved",
        }
    }
}

/// An alert change worth announcing.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The rule.
    pub rule: Rule,
    /// The series.
    pub series: SeriesKey,
    /// The severity announced (for a resolution: the one it had).
    pub severity: Severity,
    /// The condition's value now.
    pub value: f64,
    /// The threshold crossed (for a resolution: the clear threshold).
    pub threshold: f64,
    /// Unix ms when the alert fired.
    pub started_ms: i64,
    /// Unix ms of this change.
    pub at_ms: i64,
}

/// One change to persist: the track's new state (`None`: forget it) and maybe an event.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Rule name.
    pub rule: String,
    /// The series, as `metric{label="value"}`.
    pub series: String,
    /// The new state; `None` deletes it.
    pub track: Option<Track>,
    /// What to announce, if anything.
    pub event: Option<Event>,
}

/// Timers kept in memory only: after a restart they start again, which errs towards quiet.
#[derive(Debug, Default, Clone, Copy)]
struct Timers {
    /// Since when a firing warning has been at the critical level.
    critical_since: Option<i64>,
    /// Since when a firing alert has been clear.
    clear_since: Option<i64>,
}

/// Turns samples into alert changes.
pub struct Engine {
    /// The rules, in config order.
    rules: Vec<Rule>,
    /// CPU cores, for per-core rules.
    cores: f64,
    /// Announce a still-firing alert again this often.
    repeat: Option<Duration>,
    /// Unix ms before which nothing fires, escalates or resolves.
    grace_until_ms: i64,
    /// Recent samples of every watched or guard series.
    windows: HashMap<SeriesKey, Window>,
    /// For every series seen: the indexes of the rules that select it.
    routes: HashMap<SeriesKey, Vec<usize>>,
    /// Series with new samples since the last evaluation.
    dirty: Vec<SeriesKey>,
    /// Pending and firing alerts, by (rule, series).
    tracks: HashMap<(String, String), (Track, Timers)>,
}

/// Series remembered before the route cache is cleared: process series come and go.
const MAX_ROUTES: usize = 10_000;

impl Engine {
    /// An engine for `rules` on a host with `cores` CPU cores.
    pub fn new(rules: Vec<Rule>, cores: usize, repeat: Option<Duration>) -> Engine {
        #[allow(clippy::cast_precision_loss)] // core counts are small
        let cores = cores.max(1) as f64;
        Engine {
            rules,
            cores,
            repeat,
            grace_until_ms: 0,
            windows: HashMap::default(),
            routes: HashMap::default(),
            dirty: Vec::new(),
            tracks: HashMap::default(),
        }
    }

    /// Takes back the pending and firing alerts of an earlier run; those of rules that no
    /// longer exist are returned, to be forgotten.
    pub fn restore(&mut self, tracks: Vec<Track>) -> Vec<Change> {
        let mut gone = Vec::new();
        for t in tracks {
            if self.rules.iter().any(|r| r.name == t.rule) {
                self.tracks.insert((t.rule.clone(), t.series.clone()), (t, Timers::default()));
            } else {
                gone.push(Change { rule: t.rule, series: t.series, track: None, event: None });
            }
        }
        gone
    }

    /// Holds every announcement until `until_ms` (after a start or a resume).
    pub fn hold_until(&mut self, until_ms: i64) {
        self.grace_until_ms = self.grace_until_ms.max(until_ms);
    }

    /// The current pending and firing alerts.
    pub fn tracks(&self) -> impl Iterator<Item = &Track> {
        self.tracks.values().map(|(t, _)| t)
    }

    /// Adds samples to the windows of the series that rules watch or consult.
    pub fn observe(&mut self, samples: &[Sample]) {
        for s in samples {
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
                window.push(s.ts, s.value);
                if !self.routes[&s.key].is_empty() {
                    self.dirty.push(s.key.clone());
                }
            }
        }
    }

    /// Evaluates every rule on the series that got samples since the last call.
    pub fn evaluate(&mut self, now_ms: i64) -> Vec<Change> {
        let mut changes = Vec::new();
        for key in std::mem::take(&mut self.dirty) {
            for i in self.routes.get(&key).cloned().unwrap_or_default() {
                let divisor = if self.rules[i].per_core { self.cores } else { 1.0 };
                let Some(measure) = self.windows.get(&key).and_then(|w| w.measure(self.rules[i].condition, divisor))
                else {
                    continue;
                };
                let applies = self.guard_holds(&self.rules[i], &key);
                if let Some(change) = self.step(i, &key, &measure, applies, now_ms) {
                    changes.push(change);
                }
            }
        }
        changes
    }

    fn guard_holds(&self, rule: &Rule, key: &SeriesKey) -> bool {
        let Some(guard) = &rule.guard else { return true };
        let other = SeriesKey { metric: guard.metric, labels: key.labels.clone() };
        self.windows.get(&other).and_then(Window::latest).is_some_and(|(_, v)| (v - guard.equals).abs() < 1e-9)
    }

    /// One (rule, series) pair's step; `None` when nothing worth persisting changed.
    fn step(&mut self, i: usize, key: &SeriesKey, m: &Measure, applies: bool, now: i64) -> Option<Change> {
        let rule = &self.rules[i];
        let series = key.to_string();
        let id = (rule.name.clone(), series.clone());
        let level = if applies { rule.level(|t| m.beyond(rule.direction, t)) } else { None };
        let open = now >= self.grace_until_ms;
        let event = |kind, t: &Track| Event {
            kind,
            rule: rule.clone(),
            series: key.clone(),
            severity: t.severity,
            value: m.value(),
            threshold: t.threshold,
            started_ms: t.since_ms,
            at_ms: now,
        };
        let change = |track: Option<Track>, event: Option<Event>| {
            Some(Change { rule: rule.name.clone(), series: series.clone(), track, event })
        };

        let Some((mut t, mut timers)) = self.tracks.remove(&id) else {
            let severity = level?;
            let t = Track {
                rule: rule.name.clone(),
                series: series.clone(),
                phase: Phase::Pending,
                severity,
                since_ms: now,
                value: m.value(),
                threshold: rule.threshold(severity),
                notified_ms: 0,
            };
            let pending = change(Some(t.clone()), None);
            self.tracks.insert(id, (t, Timers::default()));
            // A rule without `for` fires on the same sample.
            return self.step(i, key, m, applies, now).or(pending);
        };
        t.value = m.value();
        let for_ms = millis(rule.for_);
        let result = match t.phase {
            Phase::Pending => match level {
                None => return change(None, None),
                Some(severity) if now - t.since_ms >= for_ms && open => {
                    t = Track {
                        phase: Phase::Firing,
                        severity,
                        threshold: rule.threshold(severity),
                        since_ms: now,
                        notified_ms: now,
                        ..t
                    };
                    change(Some(t.clone()), Some(event(EventKind::Fired, &t)))
                }
                Some(severity) => {
                    let moved = severity != t.severity;
                    t.severity = severity;
                    t.threshold = rule.threshold(severity);
                    if moved { change(Some(t.clone()), None) } else { None }
                }
            },
            Phase::Firing => {
                let active = applies && (level.is_some() || m.beyond(rule.direction, rule.clear));
                if !active {
                    let clear_since = *timers.clear_since.get_or_insert(now);
                    if now - clear_since >= millis(rule.keep_firing_for) && open {
                        let resolved = Event { threshold: rule.clear, ..event(EventKind::Resolved, &t) };
                        return change(None, Some(resolved));
                    }
                    None
                } else {
                    timers.clear_since = None;
                    let critical_since =
                        (level == Some(Severity::Critical)).then(|| *timers.critical_since.get_or_insert(now));
                    timers.critical_since = critical_since;
                    let repeat_due = self.repeat.is_some_and(|r| now - t.notified_ms >= millis(r));
                    if t.severity == Severity::Warning && critical_since.is_some_and(|s| now - s >= for_ms) && open {
                        t.severity = Severity::Critical;
                        t.threshold = rule.threshold(Severity::Critical);
                        t.notified_ms = now;
                        change(Some(t.clone()), Some(event(EventKind::Escalated, &t)))
                    } else if repeat_due && open {
                        t.notified_ms = now;
                        change(Some(t.clone()), Some(event(EventKind::Repeated, &t)))
                    } else {
                        None
                    }
                }
            }
        };
        self.tracks.insert(id, (t, timers));
        result
    }
}

/// A duration in whole milliseconds.
fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
