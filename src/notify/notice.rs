//! A [`Notice`]: the alert changes of one evaluation, grouped, in the versioned shape the
//! generic JSON webhook receives and the outbox keeps.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::rules::{EventKind, Severity};
use crate::units::rfc3339;

/// The `schema` of every notice; a change that breaks readers gets a new number.
pub const SCHEMA: &str = "hostwatch.notification.v1";

/// One notification: everything that changed at one evaluation, on one host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// The same for every delivery attempt of this notice, on every channel: receivers
    /// drop repeats by it.
    pub idempotency_key: String,
    /// The host's name.
    pub host: String,
    /// When the alerts changed, RFC 3339 UTC with milliseconds.
    pub created_at: String,
    /// One line: what the notice is about.
    pub summary: String,
    /// The alert changes, most severe first.
    pub alerts: Vec<Entry>,
}

/// One alert change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Identifies this change of this alert.
    pub key: String,
    /// The rule's name.
    pub alert: String,
    /// `fired`, `escalated`, `de-escalated`, `repeated`, `resolved` or `test`.
    pub event: String,
    /// `firing` or `resolved`.
    pub state: String,
    /// `warning` or `critical`.
    pub severity: String,
    /// The series, as `metric{label="value"}`.
    pub series: String,
    /// The metric's name.
    pub metric: String,
    /// The series' labels.
    pub labels: BTreeMap<String, String>,
    /// The metric's unit.
    pub unit: String,
    /// The condition's value.
    pub value: f64,
    /// The threshold crossed (for a resolution: the one it went back past).
    pub threshold: f64,
    /// The rule's condition, e.g. `avg 5m above`.
    pub condition: String,
    /// When the alert fired, RFC 3339 UTC.
    pub started_at: String,
    /// When this change happened, RFC 3339 UTC with milliseconds.
    pub at: String,
    /// One readable line.
    pub text: String,
}

/// A short hex digest of `parts`, for idempotency keys.
fn digest(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..16])
}

/// A value with at most two decimals, trailing zeros dropped.
fn show(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

impl Entry {
    /// The entry for one alert event on `host`.
    pub fn from_event(host: &str, e: &crate::rules::Event) -> Entry {
        let series = e.series.to_string();
        let (kind, severity, rule) = (e.kind.as_str(), e.severity.as_str(), &e.rule);
        let unit = e.series.metric.unit;
        let (value, threshold, direction) = (show(e.value), show(e.threshold), e.direction.as_str());
        let text = match (e.kind, e.reason) {
            (EventKind::Resolved, Some(reason)) => format!("{rule} resolved: {series}: {reason}"),
            (EventKind::Resolved, None) => {
                format!("{rule} resolved: {series} is {value}{unit}, back past {threshold}{unit}")
            }
            (EventKind::Deescalated, _) => {
                format!(
                    "{rule} back to warning: {series} {} is {value}{unit} ({direction} {threshold}{unit})",
                    e.condition
                )
            }
            _ => {
                format!("{rule} {severity}: {series} {} is {value}{unit} ({direction} {threshold}{unit})", e.condition)
            }
        };
        let (started, at) = (e.started_ms.to_string(), e.at_ms.to_string());
        Entry {
            key: digest(&[host, rule, &series, kind, &started, &at]),
            alert: rule.clone(),
            event: kind.to_owned(),
            state: if e.kind == EventKind::Resolved { "resolved" } else { "firing" }.to_owned(),
            severity: severity.to_owned(),
            metric: e.series.metric.name.to_owned(),
            labels: e.series.labels.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect(),
            series,
            unit: unit.to_owned(),
            // At the metric's precision, as stored: 47.98, not 47.97979736328125.
            value: (e.value * e.series.metric.scale()).round() / e.series.metric.scale(),
            threshold: e.threshold,
            condition: if e.condition.is_empty() { String::new() } else { format!("{} {direction}", e.condition) },
            started_at: rfc3339(e.started_ms),
            at: rfc3339(e.at_ms),
            text,
        }
    }

    fn severity(&self) -> Option<Severity> {
        Severity::parse(&self.severity)
    }
}

impl Notice {
    /// Groups `entries` that changed together at `at_ms` into one notice.
    pub fn new(host: &str, at_ms: i64, mut entries: Vec<Entry>) -> Notice {
        // Firing before resolved, critical before warning.
        entries.sort_by_key(|e| (e.state != "firing", std::cmp::Reverse(e.severity())));
        let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
        let summary = match entries.as_slice() {
            [one] if one.state == "resolved" => format!("{} resolved on {host}", one.alert),
            [one] => format!("{} {} on {host}", one.alert, one.severity),
            many => {
                let firing = many.iter().filter(|e| e.state == "firing").count();
                format!("{} alerts on {host}: {firing} firing, {} resolved", many.len(), many.len() - firing)
            }
        };
        Notice {
            schema: SCHEMA.to_owned(),
            idempotency_key: digest(&keys),
            host: host.to_owned(),
            created_at: rfc3339(at_ms),
            summary,
            alerts: entries,
        }
    }

    /// The worst severity still firing; `None` if every entry is a resolution.
    pub fn severity(&self) -> Option<Severity> {
        self.alerts.iter().filter(|e| e.state == "firing").filter_map(Entry::severity).max()
    }

    /// Whether anything in it is critical and firing.
    pub fn is_critical(&self) -> bool {
        self.severity() == Some(Severity::Critical)
    }

    /// The readable lines, one per entry.
    pub fn lines(&self) -> String {
        self.alerts.iter().map(|e| e.text.as_str()).collect::<Vec<_>>().join("\n")
    }
}

impl Entry {
    /// An entry that is not about one series' value (a test, a check's finding): it is
    /// firing, with no metric, labels or figures. `times` is (started, at), unix ms.
    fn note(
        host: &str,
        alert: &str,
        event: &str,
        severity: &str,
        subject: &str,
        times: (i64, i64),
        text: String,
    ) -> Entry {
        Entry {
            key: digest(&[host, alert, subject, &times.0.to_string(), &times.1.to_string(), &text]),
            alert: alert.to_owned(),
            event: event.to_owned(),
            state: "firing".to_owned(),
            severity: severity.to_owned(),
            series: subject.to_owned(),
            metric: String::new(),
            labels: BTreeMap::new(),
            unit: String::new(),
            value: 0.0,
            threshold: 0.0,
            condition: String::new(),
            started_at: rfc3339(times.0),
            at: rfc3339(times.1),
            text,
        }
    }
}

impl Notice {
    /// What `hostwatch notify test` sends: a made-up warning that says what it is.
    pub fn test(host: &str, at_ms: i64) -> Notice {
        let text = "A test from `hostwatch notify test`: this channel works.".to_owned();
        let entry = Entry::note(host, "test", "test", Severity::Warning.as_str(), "", (at_ms, at_ms), text);
        Notice { summary: format!("hostwatch test notification from {host}"), ..Notice::new(host, at_ms, vec![entry]) }
    }

    /// The notable findings (warning or worse) of a check's report, as one notice; `None`
    /// if it found nothing notable.
    pub fn report(host: &str, at_ms: i64, report: &crate::report::Report) -> Option<Notice> {
        let entries: Vec<Entry> = report
            .notable()
            .map(|f| {
                let level = f.level.as_str();
                let text = format!("{} {level}: {}: {}", report.job, f.subject, f.text);
                Entry::note(host, &report.job, "report", level, &f.subject, (report.slot * 1000, at_ms), text)
            })
            .collect();
        let n = entries.len();
        (n > 0).then(|| Notice {
            summary: format!("{} found {n} thing{} to look at on {host}", report.job, if n == 1 { "" } else { "s" }),
            ..Notice::new(host, at_ms, entries)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{self as m, SeriesKey};
    use crate::rules::{Direction, Event, EventKind, Severity};

    #[test]
    fn a_value_is_sent_at_its_metrics_precision_not_as_float_noise() {
        let event = Event {
            kind: EventKind::Fired,
            rule: "cpu".into(),
            condition: "avg 5m".into(),
            direction: Direction::Above,
            series: SeriesKey::with(&m::CPU_USAGE, "cpu", "total"),
            severity: Severity::Warning,
            value: 47.979_797_363_281_25,
            threshold: 45.0,
            started_ms: 0,
            at_ms: 1000,
            reason: None,
        };
        let entry = Entry::from_event("host", &event);
        assert!((entry.value - 48.0).abs() < 1e-12, "{}", entry.value);
        assert!(entry.text.contains("is 47.98%"), "the text keeps two decimals: {}", entry.text);
    }
}
