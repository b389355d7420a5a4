//! One (rule, series) pair's step through its phases: none, pending, firing, gone. Pure:
//! the rule, this tick's measure, the pair's track and `now` in; the next track and the
//! change to persist out. A severity must hold for `for` to be announced.

use std::time::Duration;

use super::alert::{Change, Event, EventKind, Phase, Track};
use super::window::Measure;
use super::{Rule, Severity};
use crate::metrics::SeriesKey;
use crate::units::millis;

/// Timers kept in memory only: after a restart they start again, which errs towards quiet.
#[derive(Debug, Default, Clone, Copy)]
pub struct Timers {
    /// Since when the critical level has held.
    critical_since: Option<i64>,
    /// Since when a firing alert has been clear.
    clear_since: Option<i64>,
    /// Since when a critical alert has been back past its de-escalation line.
    calm_since: Option<i64>,
}

/// What one step of a pair sees.
pub struct Step<'a> {
    /// The pair's rule.
    pub rule: &'a Rule,
    /// The pair's series.
    pub key: &'a SeriesKey,
    /// The rule's condition on the series' window now.
    pub m: &'a Measure,
    /// Whether the rule's guard holds (a battery rule while discharging).
    pub applies: bool,
    /// Unix ms.
    pub now: i64,
    /// Past the grace period: announcements may go out.
    pub open: bool,
    /// Announce a still-firing alert again this often.
    pub repeat: Option<Duration>,
}

/// After a step: the pair's track if it goes on, and the change to persist, if any.
pub struct Next {
    /// The track and its timers; `None`: the pair has no alert any more.
    pub live: Option<(Track, Timers)>,
    /// What to store (and announce, if it carries an event).
    pub change: Option<Change>,
}

impl Step<'_> {
    /// A pair without a track: a crossing opens one, pending; a rule without `for` fires
    /// on the same sample.
    pub fn start(&self) -> Next {
        let Some(severity) = self.level() else { return Next { live: None, change: None } };
        let rule = self.rule;
        let t = Track {
            rule: rule.name.clone(),
            key: self.key.clone(),
            phase: Phase::Pending,
            severity,
            since_ms: self.now,
            value: self.m.value(),
            threshold: rule.threshold(severity),
            notified_ms: 0,
        };
        let opened = self.change(Some(t.clone()), None);
        let next = self.advance(t, Timers::default());
        Next { change: next.change.or(opened), ..next }
    }

    /// A pair with a track, pending or firing.
    pub fn advance(&self, mut t: Track, mut timers: Timers) -> Next {
        let level = self.level();
        t.value = self.m.value();
        timers.critical_since = (level == Some(Severity::Critical)).then(|| timers.critical_since.unwrap_or(self.now));
        let critical_held = timers.critical_since.is_some_and(|s| self.now - s >= millis(self.rule.for_));
        match t.phase {
            Phase::Pending => self.pending(t, timers, level, critical_held),
            Phase::Firing => self.firing(t, timers, level, critical_held),
        }
    }

    fn pending(&self, mut t: Track, timers: Timers, level: Option<Severity>, critical_held: bool) -> Next {
        let Some(severity) = level else { return Next { live: None, change: self.change(None, None) } };
        let (rule, now) = (self.rule, self.now);
        if now - t.since_ms >= millis(rule.for_) && self.open {
            let severity = if critical_held { Severity::Critical } else { Severity::Warning };
            let threshold = rule.threshold(severity);
            t = Track { phase: Phase::Firing, severity, threshold, since_ms: now, notified_ms: now, ..t };
            let change = self.change(Some(t.clone()), Some(self.event(EventKind::Fired, &t)));
            return Next { live: Some((t, timers)), change };
        }
        let moved = severity != t.severity;
        t.severity = severity;
        t.threshold = rule.threshold(severity);
        let change = if moved { self.change(Some(t.clone()), None) } else { None };
        Next { live: Some((t, timers)), change }
    }

    fn firing(&self, mut t: Track, mut timers: Timers, level: Option<Severity>, critical_held: bool) -> Next {
        let (rule, now) = (self.rule, self.now);
        let holds = self.applies && (level.is_some() || self.m.beyond(rule.direction, rule.clear));
        if !holds {
            let clear_since = *timers.clear_since.get_or_insert(now);
            if now - clear_since >= millis(rule.keep_firing_for) && self.open {
                let resolved = Event { threshold: rule.clear, ..self.event(EventKind::Resolved, &t) };
                return Next { live: None, change: self.change(None, Some(resolved)) };
            }
            return Next { live: Some((t, timers)), change: None };
        }
        timers.clear_since = None;
        let calm = t.severity == Severity::Critical && !self.m.beyond(rule.direction, rule.deescalate_at());
        timers.calm_since = calm.then(|| timers.calm_since.unwrap_or(now));
        let calm_held = timers.calm_since.is_some_and(|s| now - s >= millis(rule.for_));
        let change = if calm_held && rule.warning.is_some() && self.open {
            // Back below critical by the clear gap for `for`: said once, at warning.
            t.severity = Severity::Warning;
            t.threshold = rule.threshold(Severity::Warning);
            t.notified_ms = now;
            timers.calm_since = None;
            self.change(Some(t.clone()), Some(self.event(EventKind::Deescalated, &t)))
        } else if t.severity == Severity::Warning && critical_held && self.open {
            t.severity = Severity::Critical;
            t.threshold = rule.threshold(Severity::Critical);
            t.notified_ms = now;
            self.change(Some(t.clone()), Some(self.event(EventKind::Escalated, &t)))
        } else if self.repeat.is_some_and(|r| now - t.notified_ms >= millis(r)) && self.open {
            t.notified_ms = now;
            self.change(Some(t.clone()), Some(self.event(EventKind::Repeated, &t)))
        } else {
            None
        };
        Next { live: Some((t, timers)), change }
    }

    /// The severity the measure reaches, if the rule applies now.
    fn level(&self) -> Option<Severity> {
        let rule = self.rule;
        if self.applies { rule.level(|t| self.m.beyond(rule.direction, t)) } else { None }
    }

    fn event(&self, kind: EventKind, t: &Track) -> Event {
        let rule = self.rule;
        Event {
            kind,
            rule: rule.name.clone(),
            condition: rule.condition.to_string(),
            direction: rule.direction,
            series: self.key.clone(),
            severity: t.severity,
            value: self.m.value(),
            threshold: t.threshold,
            started_ms: t.since_ms,
            at_ms: self.now,
            reason: None,
        }
    }

    fn change(&self, track: Option<Track>, event: Option<Event>) -> Option<Change> {
        Some(Change { rule: self.rule.name.clone(), key: self.key.clone(), track, event })
    }
}
