//! What the engine keeps and says about one alert: its persisted [`Track`], the [`Event`]s
//! it announces, and the [`Change`]s the daemon stores.

use super::{Direction, Severity};
use crate::metrics::SeriesKey;

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// A threshold is crossed; waiting for `for` (or the grace period) to pass.
    Pending,
    /// Announced and not yet resolved.
    Firing,
}

impl Phase {
    /// The word used in the store and in tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "pending",
            Phase::Firing => "firing",
        }
    }
}

/// The state of one (rule, series) pair, as persisted in the hot store.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// Rule name.
    pub rule: String,
    /// The series.
    pub key: SeriesKey,
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
    /// Went from critical back to warning: below critical by the clear gap for `for`.
    Deescalated,
    /// Still firing, announced again after the repeat interval.
    Repeated,
    /// Back to normal, or its series is no longer reported, or its rule was removed.
    Resolved,
}

impl EventKind {
    /// The word used in the store and payloads.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Fired => "fired",
            EventKind::Escalated => "escalated",
            EventKind::Deescalated => "de-escalated",
            EventKind::Repeated => "repeated",
            EventKind::Resolved => "resolved",
        }
    }

    /// The kind a stored word names.
    pub fn parse(s: &str) -> Option<EventKind> {
        [EventKind::Fired, EventKind::Escalated, EventKind::Deescalated, EventKind::Repeated, EventKind::Resolved]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// An alert change worth announcing.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The rule's name.
    pub rule: String,
    /// The rule's condition, e.g. `avg 5m` (or why it resolved without one).
    pub condition: String,
    /// Which side of the threshold is bad.
    pub direction: Direction,
    /// The series.
    pub series: SeriesKey,
    /// The severity announced (for a resolution: the one it had).
    pub severity: Severity,
    /// The condition's value now (the last one known, for a vanished series).
    pub value: f64,
    /// The threshold crossed (for a resolution: the clear threshold).
    pub threshold: f64,
    /// Unix ms when the alert fired.
    pub started_ms: i64,
    /// Unix ms of this change.
    pub at_ms: i64,
    /// Why it resolved when not by its condition (its series vanished, its rule was removed).
    pub reason: Option<&'static str>,
}

/// One change to persist: the track's new state (`None`: forget it) and maybe an event.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Rule name.
    pub rule: String,
    /// The series.
    pub key: SeriesKey,
    /// The new state; `None` deletes it.
    pub track: Option<Track>,
    /// What to announce, if anything.
    pub event: Option<Event>,
}
